// A load generator in its own process, so the load never shares an event loop with the apps it
// measures: `node dist/libs/devstack/load-generator.js '<json LoadPlan>'` calls the gateway's
// GetUserWithOrders at a fixed arrival rate and prints one JSON LoadReport line.
import { Metadata, credentials, status as Status, type ServiceError } from '@grpc/grpc-js';
import { gatewayV1 } from '@switchyard/proto';

export interface LoadPlan {
  /** Gateway address, host:port. */
  target: string;
  userIds: string[];
  /**
   * Calls sent per second, whether or not earlier ones have answered (open loop): real callers
   * do not wait for a slow service before sending more, so neither does the load.
   */
  ratePerSecond: number;
  /** How long calls are sent; ratePerSecond * durationMs / 1000 calls in all. */
  durationMs: number;
  /** Deadline of each call, from the time it was meant to be sent. */
  deadlineMs: number;
  /**
   * Calls sent before the measured ones, their rate rising from 0 to ratePerSecond over this
   * time, and left out of the report: they warm up connections, JIT and pools on both sides, which
   * a cold process under a full open-loop rate might not survive. Default 0.
   */
  rampUpMs?: number;
}

export interface LoadReport {
  calls: number;
  failed: number;
  /** Failed calls by status name, e.g. { UNAVAILABLE: 2 }. */
  failures: Record<string, number>;
  /** Calls whose response listed partial failures (answered, but incomplete). */
  partial: number;
  /** Partial failures by source, code and message, e.g. { 'order UNAVAILABLE: ...': 3 }. */
  partialReasons: Record<string, number>;
  /** Latencies from each call's intended send time, so a stalled sender cannot hide a stall. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Epoch ms of the first measured call's intended send (after the ramp): the origin of the `...AtMs` offsets. */
  startedAt: number;
  /** Intended send time (ms after startedAt) of failed or partial calls, in order, the first 100 to end. */
  problemsAtMs: number[];
  /** Intended send time of the last failed or partial call, or -1 when there was none. */
  lastProblemAtMs: number;
  /** Calls sent more than 10 ms after their intended time: the generator itself fell behind. */
  lateSends: number;
  /** The latest a call was sent after its intended time, in ms. */
  maxSendLagMs: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const LATE_SEND_MS = 10;
const MAX_PROBLEMS_LISTED = 100;

/**
 * Sends the ramp's calls: with the rate rising linearly to r over R ms, n(t) = r t^2 / 2R calls
 * have gone by time t, so call k goes at sqrt(2 R k / r). Their answers, whatever they are, do
 * not hold up the measured calls that follow at once; they are awaited with them.
 */
async function rampUp(client: gatewayV1.GatewayServiceClient, plan: LoadPlan): Promise<Promise<unknown>> {
  const rampMs = plan.rampUpMs ?? 0;
  const calls = Math.floor((plan.ratePerSecond * rampMs) / 2000);
  if (calls === 0) return Promise.resolve();
  const origin = performance.now();
  const answers: Promise<void>[] = [];
  for (let k = 0; k < calls; k += 1) {
    const at = Math.sqrt((2 * rampMs * k * 1000) / plan.ratePerSecond);
    const wait = at - (performance.now() - origin);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    answers.push(
      new Promise((resolve) =>
        client.getUserWithOrders({ userId: plan.userIds[k % plan.userIds.length], pageSize: 0 }, new Metadata(), { deadline: Date.now() + plan.deadlineMs }, () => resolve()),
      ),
    );
  }
  return Promise.all(answers);
}

export async function generateLoad(plan: LoadPlan): Promise<LoadReport> {
  // Channelz bookkeeping costs time on every call and nothing here reads it.
  const client = new gatewayV1.GatewayServiceClient(plan.target, credentials.createInsecure(), { 'grpc.enable_channelz': 0 });
  // Connect before the clock starts, so the first calls do not measure the handshake.
  await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 5000, (error) => (error ? reject(error) : resolve())));
  const rampAnswered = await rampUp(client, plan);
  const total = Math.max(1, Math.round((plan.ratePerSecond * plan.durationMs) / 1000));
  const intervalMs = 1000 / plan.ratePerSecond;
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  const problemsAtMs: number[] = [];
  let partial = 0;
  const partialReasons: Record<string, number> = {};
  let lateSends = 0;
  let maxSendLagMs = 0;
  let answered = 0;
  let lastProblemAtMs = -1;
  const origin = performance.now();
  const startedAt = Date.now();

  const problem = (atMs: number) => {
    lastProblemAtMs = Math.max(lastProblemAtMs, Math.round(atMs));
    if (problemsAtMs.length < MAX_PROBLEMS_LISTED) problemsAtMs.push(Math.round(atMs));
  };

  const send = (index: number, done: () => void) => {
    const intendedAt = index * intervalMs;
    const now = performance.now() - origin;
    if (now - intendedAt > LATE_SEND_MS) lateSends += 1;
    maxSendLagMs = Math.max(maxSendLagMs, now - intendedAt);
    const userId = plan.userIds[index % plan.userIds.length];
    const deadline = startedAt + intendedAt + plan.deadlineMs;
    client.getUserWithOrders({ userId, pageSize: 0 }, new Metadata(), { deadline }, (error: ServiceError | null, response) => {
      latencies.push(performance.now() - origin - intendedAt);
      if (error) {
        const name = Status[error.code] ?? String(error.code);
        failures[name] = (failures[name] ?? 0) + 1;
        problem(intendedAt);
      } else if (response.partialFailures.length > 0) {
        partial += 1;
        for (const failure of response.partialFailures) {
          const reason = `${failure.source} ${failure.code}: ${failure.message}`;
          partialReasons[reason] = (partialReasons[reason] ?? 0) + 1;
        }
        problem(intendedAt);
      }
      done();
    });
  };

  await new Promise<void>((resolve) => {
    let next = 0;
    const done = () => {
      answered += 1;
      if (answered === total) resolve();
    };
    // Each tick sends every call whose time has come, so a late timer sends a burst rather than
    // quietly lowering the rate.
    const tick = () => {
      const now = performance.now() - origin;
      while (next < total && next * intervalMs <= now) send(next++, done);
      if (next < total) setTimeout(tick, Math.max(0, next * intervalMs - (performance.now() - origin)));
    };
    tick();
  });
  await rampAnswered;
  client.close();
  latencies.sort((a, b) => a - b);
  problemsAtMs.sort((a, b) => a - b);
  const failed = Object.values(failures).reduce((sum, n) => sum + n, 0);
  return {
    calls: latencies.length,
    failed,
    failures,
    partial,
    partialReasons,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? 0,
    startedAt,
    problemsAtMs,
    lastProblemAtMs,
    lateSends,
    maxSendLagMs: Math.round(maxSendLagMs),
  };
}

if (require.main === module) {
  const plan = JSON.parse(process.argv[2] ?? '{}') as LoadPlan;
  generateLoad(plan).then(
    (report) => process.stdout.write(`${JSON.stringify(report)}\n`),
    (error: Error) => {
      process.stderr.write(`load generator failed: ${error.message}\n`);
      process.exit(1);
    },
  );
}
