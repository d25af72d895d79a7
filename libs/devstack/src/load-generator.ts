// A load generator in its own process, so the load never shares an event loop with the apps it
// measures: `node dist/libs/devstack/load-generator.js '<json LoadPlan>'` calls the gateway's
// GetUserWithOrders with fixed concurrency for a fixed time and prints one JSON LoadReport line.
import { Metadata, credentials, status as Status, type ServiceError } from '@grpc/grpc-js';
import { gatewayV1 } from '@switchyard/proto';

export interface LoadPlan {
  /** Gateway address, host:port. */
  target: string;
  userIds: string[];
  concurrency: number;
  durationMs: number;
  /** Deadline of each call. */
  deadlineMs: number;
}

export interface LoadReport {
  calls: number;
  failed: number;
  /** Failed calls by status name, e.g. { UNAVAILABLE: 2 }. */
  failures: Record<string, number>;
  /** Calls whose response listed partial failures (answered, but incomplete). */
  partial: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** ms after the start of the last failed or partial call, or -1 when there was none. */
  lastProblemAtMs: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export async function generateLoad(plan: LoadPlan): Promise<LoadReport> {
  const client = new gatewayV1.GatewayServiceClient(plan.target, credentials.createInsecure());
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let partial = 0;
  let lastProblemAtMs = -1;
  const started = Date.now();
  const endAt = started + plan.durationMs;
  let next = 0;

  const callOnce = () =>
    new Promise<void>((resolve) => {
      const userId = plan.userIds[next++ % plan.userIds.length];
      const sent = process.hrtime.bigint();
      client.getUserWithOrders({ userId, pageSize: 0 }, new Metadata(), { deadline: Date.now() + plan.deadlineMs }, (error: ServiceError | null, response) => {
        latencies.push(Number(process.hrtime.bigint() - sent) / 1e6);
        if (error) {
          const name = Status[error.code] ?? String(error.code);
          failures[name] = (failures[name] ?? 0) + 1;
          lastProblemAtMs = Date.now() - started;
        } else if (response.partialFailures.length > 0) {
          partial += 1;
          lastProblemAtMs = Date.now() - started;
        }
        resolve();
      });
    });

  const worker = async () => {
    while (Date.now() < endAt) await callOnce();
  };
  await Promise.all(Array.from({ length: plan.concurrency }, worker));
  client.close();
  latencies.sort((a, b) => a - b);
  const failed = Object.values(failures).reduce((sum, n) => sum + n, 0);
  return {
    calls: latencies.length,
    failed,
    failures,
    partial,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? 0,
    lastProblemAtMs,
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
