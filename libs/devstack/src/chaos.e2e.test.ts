// Chaos scenarios against the BUILT apps under open-loop load from a separate process: calls
// arrive at a fixed rate whether or not earlier ones have answered, as real traffic does. Each
// prints one line: scenario, calls, failed by code, p99 latency, recovery. CHAOS_LOAD_MS sets how
// long each load runs (default short enough for CI; raise it for the long form), CHAOS_RATE the
// calls per second (default 100, lowered by halves when the machine cannot carry it: see
// sustainableRate).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectReflection, eventually, freePort, type ReflectionConnection } from '@switchyard/testing';
import { Client } from 'pg';
import type { App } from './compose-environment';
import type { AppProcess } from './app-process';
import type { LoadReport } from './load-generator';
import { runLoadProcess } from './load-process';
import { LocalStack } from './local-stack';
import { createScratchDatabase } from './postgres-database';

const workspaceRoot = resolve(__dirname, '../../..');
const LOAD_MS = Number(process.env.CHAOS_LOAD_MS ?? 6000);
// The long form keeps the registry down for 30 s; CI uses a few seconds.
const REGISTRY_DOWN_MS = Number(process.env.CHAOS_REGISTRY_DOWN_MS ?? 4000);
const HEARTBEAT_INTERVAL_MS = 2000;
const REQUESTED_RATE = Number(process.env.CHAOS_RATE ?? 100);
const LOWEST_RATE = 25;
// Calls per second of every scenario: REQUESTED_RATE, or less on a machine that cannot carry it.
let rate = REQUESTED_RATE;
const DEADLINE_MS = 2000;
// A rate is carried when a fault-free load at it has a p99 of at most a quarter of the deadline: a
// fault then adds a failover's delay on top, and a machine already at half the deadline
// without one leaves no room for it, so the scenario would measure the machine, not the fault.
const CARRIED_P99_MS = DEADLINE_MS / 4;
// Every load first ramps up to the rate over this time, uncounted: a cold process (a new gateway,
// the load generator itself) meeting the full rate at once can fall behind and never catch up.
const RAMP_MS = 3000;
// The SIGSTOP scenario: 1,000 calls at 100/s, the stop 2 s in.
const STOP_AFTER_MS = 2000;
const STOPPED_LOAD_MS = 10_000;
jest.setTimeout(110_000 + 3 * LOAD_MS + REGISTRY_DOWN_MS);

interface LogLine {
  msg?: string;
  method?: string;
  code?: number;
  duration_ms: number;
  /** ISO time the line was written (the end of the call). */
  time: string;
  trace_id?: string;
  /** On a client's attempt line: the instance the attempt went to. */
  peer?: string;
}

function parseLine(line: string): LogLine | undefined {
  try {
    return JSON.parse(line) as LogLine;
  } catch {
    return undefined;
  }
}

/** Every outgoing attempt of `method` a process logged (its gateway runs at LOG_LEVEL=debug), with its start time. */
function attemptsOf(process: AppProcess, method: string, from = 0) {
  return process.lines
    .slice(from)
    .map(parseLine)
    .filter((l): l is LogLine => l?.msg === 'outgoing rpc' && l.method?.endsWith(method) === true)
    .map((l) => ({ ...l, startedAt: Date.parse(l.time) - l.duration_ms }));
}

function report(scenario: string, load: LoadReport, recovery: string) {
  process.stdout.write(
    `chaos | ${scenario.padEnd(34)} | ${rate}/s open loop | calls ${String(load.calls).padStart(5)} | failed ${load.failed} ${JSON.stringify(load.failures)} | partial ${load.partial}${load.partial > 0 ? ` ${JSON.stringify(load.partialReasons)}` : ''} | p50 ${load.p50Ms.toFixed(1)} ms | p99 ${load.p99Ms.toFixed(1)} ms | max ${load.maxMs.toFixed(0)} ms | late sends ${load.lateSends} (max ${load.maxSendLagMs} ms) | ${recovery}\n`,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('chaos: no call is lost', () => {
  let stack: LocalStack;
  let database: { url: string; drop: () => Promise<void> };
  let dataDir: string;
  let registry: ReflectionConnection;
  const userIds: string[] = [];

  const addresses = async (service: string) => {
    const metadata = { authorization: `Bearer ${stack.registryToken}` };
    const response = (await registry.invoke('switchyard.registry.v1.RegistryService/Resolve', { serviceName: service }, { metadata })).json as {
      instances?: { address: string; state: string }[];
    };
    return (response.instances ?? []).filter((i) => i.state === 'INSTANCE_STATE_SERVING').map((i) => i.address);
  };

  /** One more instance of `app` on a free port, registered and SERVING. */
  const startExtra = async (app: App, port?: number, env: Record<string, string> = {}): Promise<{ process: AppProcess; address: string }> => {
    const chosen = port ?? (await freePort());
    const address = `127.0.0.1:${chosen}`;
    const process = await stack.startApp(app, { GRPC_PORT: String(chosen), ADVERTISE_ADDRESS: address, ...env });
    await eventually(async () => (await addresses(app)).includes(address), 5000, `${app} at ${address} registered`);
    return { process, address };
  };

  const instanceOn = (app: App, port: number) =>
    stack.processes.find((p) => p.options.app === app && p.running && p.options.env.GRPC_PORT === String(port))!;

  const countOrders = async (requestIds: string[]) => {
    const db = new Client({ connectionString: database.url });
    await db.connect();
    const { rows } = await db.query('SELECT count(*)::int AS total, count(DISTINCT request_id)::int AS distinct FROM orders WHERE request_id = ANY($1)', [requestIds]);
    await db.end();
    return rows[0] as { total: number; distinct: number };
  };

  const load = (durationMs = LOAD_MS, target = stack.address('gateway'), rampUpMs = RAMP_MS) =>
    runLoadProcess(workspaceRoot, { target, userIds, ratePerSecond: rate, durationMs, deadlineMs: DEADLINE_MS, rampUpMs });

  /** A gateway of its own that logs each outgoing attempt and the instance it reached (LOG_LEVEL=debug). */
  const debugGateway = () => startExtra('gateway', undefined, { LOG_LEVEL: 'debug', ...(process.env.CHAOS_RETRY_POLICY ? { RETRY_POLICY: process.env.CHAOS_RETRY_POLICY } : {}) });

  beforeAll(async () => {
    database = await createScratchDatabase('switchyard_chaos');
    dataDir = mkdtempSync(join(tmpdir(), 'switchyard-chaos-'));
    stack = await LocalStack.start({ workspaceRoot, dataDir, databaseUrl: database.url });
    registry = connectReflection(stack.address('registry'));
    const users = connectReflection(stack.address('user'));
    const orders = connectReflection(stack.address('order'));
    for (let i = 0; i < 5; i++) {
      const { user } = (await users.invoke('switchyard.user.v1.UserService/CreateUser', { name: `Load ${i}`, email: `load-${i}-${Date.now()}@example.com` })).json as {
        user: { id: string };
      };
      userIds.push(user.id);
      await orders.invoke('switchyard.order.v1.OrderService/CreateOrder', { userId: user.id, items: [{ sku: 'ticket', quantity: 1, unitPriceCents: '500' }] });
    }
    users.close();
    orders.close();
    if (process.env.CHAOS_RATE === undefined) rate = await sustainableRate();
  });

  /**
   * The scenarios measure what a fault costs, so they run at a rate the stack carries without one:
   * REQUESTED_RATE, halved (down to LOWEST_RATE) while a short fault-free load at that rate has a
   * failed call or a p99 over CARRIED_P99_MS. Four apps, the load generator and a debug gateway
   * share the machine's cores, and another busy process can take the 100 calls/s they carry on a
   * quiet machine; each scenario's line names the rate it ran at. Starts from `from` and only
   * goes down.
   */
  async function sustainableRate(from = REQUESTED_RATE, probeMs = 3000, rampUpMs = RAMP_MS, target = stack.address('gateway')): Promise<number> {
    for (let candidate = from; ; candidate = Math.max(LOWEST_RATE, Math.floor(candidate / 2))) {
      const probe = await runLoadProcess(workspaceRoot, {
        target,
        userIds,
        ratePerSecond: candidate,
        durationMs: probeMs,
        deadlineMs: DEADLINE_MS,
        rampUpMs,
      });
      const carried = probe.failed === 0 && probe.partial === 0 && probe.p99Ms <= CARRIED_P99_MS;
      process.stdout.write(
        `chaos | ${'fault-free load'.padEnd(34)} | ${candidate}/s open loop | calls ${String(probe.calls).padStart(5)} | failed ${probe.failed} | p99 ${probe.p99Ms.toFixed(1)} ms | ${carried ? 'carried: the scenarios run at this rate' : candidate === LOWEST_RATE ? `not carried even at ${LOWEST_RATE}/s: running the scenarios anyway` : 'not carried on this machine now: trying half'}\n`,
      );
      if (carried || candidate === LOWEST_RATE) return candidate;
    }
  }

  /**
   * Before each load scenario: is the rate still carried? A machine that got busier since the
   * start would otherwise fail the scenario for its own slowness. A shorter probe, the stack
   * being warm; `target` is the gateway the scenario loads, when it has one of its own.
   */
  async function recheckRate(target?: string): Promise<void> {
    if (process.env.CHAOS_RATE === undefined) rate = await sustainableRate(rate, 2000, 1000, target);
  }

  afterAll(async () => {
    registry?.close();
    await stack?.stop();
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('1. two user instances, steady load through the gateway, SIGKILL one: 0 failed calls', async () => {
    await recheckRate();
    const extra = await startExtra('user');
    const running = load();
    await sleep(RAMP_MS + LOAD_MS / 3);
    const killedAt = Date.now();
    await extra.process.stop('SIGKILL');
    const result = await running;
    const recovery = result.lastProblemAtMs < 0 ? 'none needed' : `${Math.max(0, result.startedAt + result.lastProblemAtMs - killedAt)} ms`;
    report('SIGKILL one of two user instances', result, `recovery ${recovery}`);
    expect(result.calls).toBeGreaterThan(100);
    expect(result.failures).toEqual({});
    expect(result.partial).toBe(0);
    // The dead instance leaves the registry by lease expiry, so later scenarios start clean.
    await eventually(async () => !(await addresses('user')).includes(extra.address) && (await addresses('user')).length === 1, 10_000, 'killed user evicted');
  });

  it('2. two user instances, SIGSTOP one (hung, not dead): under 0.1% failed calls, traffic fully on the healthy instance within 2 s', async () => {
    const movedWithinMs = 2000;
    /** One run of the scenario at the current rate; the hung instance and the gateway are gone after it. */
    const run = async () => {
      const hung = await startExtra('user');
      const gateway = await debugGateway();
      // Through the gateway that logs every attempt, with both instances: the load the scenario adds a fault to.
      await recheckRate(gateway.address);
      const healthy = stack.advertisedAddress('user');
      const running = load(STOPPED_LOAD_MS, gateway.address);
      await sleep(RAMP_MS + STOP_AFTER_MS);
      const stoppedAt = Date.now();
      hung.process.child.kill('SIGSTOP');
      let measured;
      try {
        const result = await running;
        // Each GetUser attempt the gateway sent after the stop, with the instance it went to.
        const allAttempts = attemptsOf(gateway.process, 'UserService/GetUser');
        const attempts = allAttempts.filter((a) => a.startedAt >= stoppedAt);
        // Before the stop both instances should share the load; when one got none, this says so.
        const before = allAttempts.filter((a) => a.startedAt < stoppedAt);
        const beforeToHung = before.filter((a) => a.peer === hung.address).length;
        const toHung = attempts.filter((a) => a.peer === hung.address);
        const lastToHungMs = toHung.length === 0 ? 0 : Math.round(Math.max(...toHung.map((a) => a.startedAt)) - stoppedAt);
        const late = attempts.filter((a) => a.startedAt >= stoppedAt + movedWithinMs);
        const lateToHealthy = late.filter((a) => a.peer === healthy);
        const unrouted = attempts.length - attempts.filter((a) => a.peer === hung.address || a.peer === healthy).length;
        const problemsAfterStopMs = result.problemsAtMs.map((at) => result.startedAt + at - stoppedAt);
        // A call sent more than a carried load's p99 before the stop would have answered before it
        // on a machine that carries the load: its failure measures the machine, not the fault.
        const failedBeforeFault = problemsAfterStopMs.filter((at) => at < -CARRIED_P99_MS).length;
        report(
          'SIGSTOP one of two user instances',
          result,
          `before SIGSTOP ${beforeToHung} of ${before.length} GetUser attempts to the instance stopped; last attempt to the hung instance ${lastToHungMs} ms after SIGSTOP (${toHung.length} of ${attempts.length} GetUser attempts after it); from ${movedWithinMs} ms on, ${lateToHealthy.length}/${late.length} to the healthy instance` +
            (unrouted > 0 ? `; ${unrouted} attempts reached no instance` : '') +
            (problemsAfterStopMs.length > 0 ? `; problems at ${problemsAfterStopMs.join(', ')} ms after SIGSTOP` : ''),
        );
        measured = { result, toHung, lastToHungMs, late, lateToHealthy, failedBeforeFault };
      } finally {
        hung.process.child.kill('SIGCONT');
        await hung.process.stop('SIGKILL');
        await gateway.process.stop('SIGTERM');
      }
      await eventually(async () => (await addresses('user')).length === 1, 10_000, 'stopped user evicted');
      return measured;
    };
    let outcome = await run();
    if (outcome.failedBeforeFault > 0 && process.env.CHAOS_RATE === undefined && rate > LOWEST_RATE) {
      // The machine got busier after the rate was checked: once more at half the rate, as
      // sustainableRate would have chosen.
      rate = Math.max(LOWEST_RATE, Math.floor(rate / 2));
      process.stdout.write(`chaos | ${outcome.failedBeforeFault} calls failed before the SIGSTOP: the load was not carried without the fault; again at ${rate}/s\n`);
      outcome = await run();
    }
    const { result, toHung, lastToHungMs, late, lateToHealthy } = outcome;
    expect(result.calls).toBe(Math.round((rate * STOPPED_LOAD_MS) / 1000));
    expect((result.failed + result.partial) / result.calls).toBeLessThan(0.001);
    expect(toHung.length).toBeGreaterThan(0);
    expect(lastToHungMs).toBeLessThan(movedWithinMs);
    expect(late.length).toBeGreaterThan(50);
    expect(lateToHealthy.length).toBe(late.length);
  });

  it('2b. both user instances SIGSTOPped: backups add at most 10% of the calls plus a reserve to the attempts reaching them (counted)', async () => {
    const second = await startExtra('user');
    const first = instanceOn('user', stack.ports.user);
    const users = [stack.advertisedAddress('user'), second.address];
    const gateway = await debugGateway();
    // Answers first, so the gateway knows how long GetUser takes and would send backups.
    const warm = await load(1000, gateway.address);
    expect(warm.failed).toBe(0);
    const from = gateway.process.lines.length;
    first.child.kill('SIGSTOP');
    second.process.child.kill('SIGSTOP');
    try {
      // No ramp (the gateway is warm), and shorter than a lease (6 s): both stay listed, so every
      // call is sent to a hung instance.
      const result = await load(2000, gateway.address, 0);
      // Per GetUser call (one trace each) that reached a hung instance, the attempts that did:
      // what the stopped fleet was asked to do per user request. (Once keepalive closes the
      // connections, further calls wait for a connection and reach nothing.)
      const reached = attemptsOf(gateway.process, 'UserService/GetUser', from).filter((a) => users.includes(a.peer ?? ''));
      const callsReaching = new Set(reached.map((a) => a.trace_id)).size;
      const perCall = reached.length / Math.max(1, callsReaching);
      process.stdout.write(
        `chaos | ${'SIGSTOP both user instances'.padEnd(34)} | ${rate}/s open loop | calls ${result.calls} | failed ${result.failed} ${JSON.stringify(result.failures)} | ${callsReaching} GetUser calls reached a hung instance with ${reached.length} attempts = ${perCall.toFixed(2)} per call\n`,
      );
      expect(result.calls).toBe(Math.round((rate * 2000) / 1000));
      // At least the first second's calls reached one, before keepalive closed the connections.
      expect(callsReaching).toBeGreaterThanOrEqual(rate / 2);
      // Without a budget each would have sent maxAttempts (3). The gateway's budget for the user
      // target (DEFAULT_BACKUP_BUDGET) starts full at a reserve of 50 and earns 10% of every call
      // started, whether or not it reached a hung instance: at most 50 + 10% of this load's calls
      // are backups. A few more attempts are retries: a call whose connection keepalive closed
      // fails UNAVAILABLE and is retried, sometimes on the other hung instance still connected.
      const RETRIES_ON_CLOSED_CONNECTIONS = 10;
      expect(reached.length).toBeLessThanOrEqual(callsReaching + 50 + 0.1 * result.calls + RETRIES_ON_CLOSED_CONNECTIONS);
    } finally {
      first.child.kill('SIGCONT');
      second.process.child.kill('SIGCONT');
      await second.process.stop('SIGKILL');
      await gateway.process.stop('SIGTERM');
    }
    // The first instance may have lost its lease while stopped: it registers again.
    await eventually(async () => (await addresses('user')).length === 1, 15_000, 'one user instance serving again');
  });

  it('3. rolling restart of every user and order instance, one at a time, under load: 0 failed calls', async () => {
    await recheckRate();
    const extraPorts = { user: Number((await startExtra('user')).address.split(':')[1]), order: Number((await startExtra('order')).address.split(':')[1]) };
    const running = load(LOAD_MS * 2);
    await sleep(RAMP_MS);
    let restarts = 0;
    for (const app of ['user', 'order'] as const) {
      for (const port of [stack.ports[app], extraPorts[app]]) {
        const exit = await instanceOn(app, port).stop('SIGTERM');
        expect(exit.code).toBe(0);
        await startExtra(app, port);
        restarts += 1;
      }
    }
    const result = await running;
    // Back to one instance of each, for the scenarios after this one.
    await instanceOn('user', extraPorts.user).stop('SIGTERM');
    await instanceOn('order', extraPorts.order).stop('SIGTERM');
    report(`rolling restart (${restarts} instances)`, result, 'recovery n/a');
    expect(result.failures).toEqual({});
    expect(result.partial).toBe(0);
  });

  it('4. registry SIGKILLed under load, then restarted: 0 failed calls, full view back within 2 heartbeats', async () => {
    await recheckRate();
    const running = load(REGISTRY_DOWN_MS + LOAD_MS);
    await sleep(RAMP_MS + LOAD_MS / 3);
    registry.close();
    const registryProcess = stack.processes.find((p) => p.options.app === 'registry' && p.running)!;
    await registryProcess.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, REGISTRY_DOWN_MS));
    await stack.startApp('registry');
    const restartedAt = Date.now();
    registry = connectReflection(stack.address('registry'));
    await eventually(
      async () => {
        const [users, orders, gateways] = await Promise.all([addresses('user'), addresses('order'), addresses('gateway')]);
        return users.length === 1 && orders.length === 1 && gateways.length === 1;
      },
      3 * HEARTBEAT_INTERVAL_MS,
      'every app registered again',
    );
    const viewBackMs = Date.now() - restartedAt;
    const result = await running;
    report(`registry down ${REGISTRY_DOWN_MS} ms`, result, `view complete ${viewBackMs} ms after restart`);
    expect(result.failures).toEqual({});
    expect(result.partial).toBe(0);
    expect(viewBackMs).toBeLessThanOrEqual(2 * HEARTBEAT_INTERVAL_MS);
  });

  it('5. 30% of CreateOrder responses lost after commit, clients retrying with the same request_id: no duplicate orders', async () => {
    const faulty = await startExtra('order', undefined, { FAULTS: 'CreateOrder:abort-after-commit=UNAVAILABLE@30%' });
    const client = connectReflection(faulty.address);
    const requestIds = Array.from({ length: 40 }, (_, i) => `chaos-5-${Date.now()}-${i}`);
    let attempts = 0;
    const seen = new Map<string, string>();
    try {
      await Promise.all(
        requestIds.map(async (requestId, i) => {
          // The client's own retry loop: same request_id every time, until an answer arrives.
          for (let attempt = 1; ; attempt++) {
            attempts += 1;
            try {
              const { json } = await client.invoke('switchyard.order.v1.OrderService/CreateOrder', {
                userId: userIds[i % userIds.length],
                requestId,
                items: [{ sku: 'lost-response', quantity: 1, unitPriceCents: '100' }],
              });
              seen.set(requestId, (json as { order: { id: string } }).order.id);
              return;
            } catch (error) {
              if ((error as { code?: number }).code !== 14 || attempt >= 20) throw error;
            }
          }
        }),
      );
    } finally {
      client.close();
      await faulty.process.stop('SIGTERM');
    }
    const rows = await countOrders(requestIds);
    process.stdout.write(
      `chaos | ${'30% of responses lost after commit'.padEnd(34)} | orders ${requestIds.length} | attempts ${attempts} | rows ${rows.total} | duplicates ${rows.total - rows.distinct}\n`,
    );
    // The fault really fired (more attempts than orders), yet every create wrote exactly one row.
    expect(attempts).toBeGreaterThan(requestIds.length);
    expect(seen.size).toBe(requestIds.length);
    expect(rows).toEqual({ total: requestIds.length, distinct: requestIds.length });
  });

  it('7. user slowed beyond the deadline: DEADLINE_EXCEEDED on time, and no work after it', async () => {
    const deadlineMs = 1500;
    const delayMs = 3000;
    const userPort = stack.ports.user;
    await instanceOn('user', userPort).stop('SIGTERM');
    const slowUser = await startExtra('user', userPort, { FAULTS: `GetUser:delay=${delayMs}ms` });
    const gateway = connectReflection(stack.address('gateway'));
    const order = connectReflection(stack.address('order'));
    // Earlier scenarios' calls timed out at this gateway too: read only the lines written from here on.
    const gatewayLinesBefore = new Map(stack.processes.map((p) => [p, p.lines.length]));
    try {
      const gatewayStarted = Date.now();
      const gatewayError = await gateway
        .invoke('switchyard.gateway.v1.GatewayService/GetUserWithOrders', { userId: userIds[0] }, { deadlineMs })
        .catch((error: { code: number }) => error);
      const gatewayMs = Date.now() - gatewayStarted;
      expect(gatewayError).toMatchObject({ code: 4 });
      // The gateway itself stopped at the deadline (its own log line), not only the client. Its
      // deadline is the client's, carried in grpc-timeout and started when the call arrived, so
      // the two timers end the call within a moment of each other: DEADLINE_EXCEEDED when the
      // gateway's fires first, CANCELLED when the client's cancellation arrives first.
      const gatewayLine = await eventually(
        () =>
          stack.processes
            .flatMap((p) => (p.options.app === 'gateway' ? p.lines.slice(gatewayLinesBefore.get(p) ?? 0) : []))
            .map(parseLine)
            .find((l) => l?.method?.endsWith('GetUserWithOrders') && (l.code === 4 || l.code === 1)),
        5000,
        'gateway log line for the timed-out call',
      );
      expect(gatewayLine.duration_ms).toBeLessThanOrEqual(deadlineMs * 1.1);

      const requestId = `chaos-7-${Date.now()}`;
      const orderError = await order
        .invoke('switchyard.order.v1.OrderService/CreateOrder', { userId: userIds[0], requestId, items: [{ sku: 'late', quantity: 1, unitPriceCents: '1' }] }, { deadlineMs })
        .catch((error: { code: number }) => error);
      expect(orderError).toMatchObject({ code: 4 });
      // Wait past the point where the slowed user call would have answered: nothing was written.
      await new Promise((r) => setTimeout(r, delayMs - deadlineMs + 500));
      expect(await countOrders([requestId])).toEqual({ total: 0, distinct: 0 });
      // The user handler never ran for the abandoned calls: the delay was cut short when they were cancelled.
      const userLines = slowUser.process.lines.map(parseLine).filter((l) => l?.method?.endsWith('UserService/GetUser'));
      expect(userLines.length).toBeGreaterThan(0);
      expect(userLines.every((l) => l!.code !== 0)).toBe(true);
      process.stdout.write(
        `chaos | ${'user slowed beyond the deadline'.padEnd(34)} | gateway ${gatewayLine.code === 4 ? 'DEADLINE_EXCEEDED' : 'CANCELLED'} after ${gatewayLine.duration_ms} ms (client saw ${gatewayMs} ms) of ${deadlineMs} ms | order rows 0\n`,
      );
    } finally {
      gateway.close();
      order.close();
      await slowUser.process.stop('SIGTERM');
      await startExtra('user', userPort);
    }
  });

  it('6. the same request_id sent by 20 clients at once: exactly one order', async () => {
    const clients = Array.from({ length: 20 }, () => connectReflection(stack.address('order')));
    const requestId = `chaos-6-${Date.now()}`;
    const results = await Promise.all(
      clients.map((client) =>
        client.invoke('switchyard.order.v1.OrderService/CreateOrder', { userId: userIds[0], requestId, items: [{ sku: 'seat', quantity: 2, unitPriceCents: '700' }] }),
      ),
    );
    clients.forEach((client) => client.close());
    const ids = new Set(results.map((r) => (r.json as { order: { id: string } }).order.id));
    const db = new Client({ connectionString: database.url });
    await db.connect();
    const { rows } = await db.query('SELECT count(*)::int AS n FROM orders WHERE request_id = $1', [requestId]);
    await db.end();
    process.stdout.write(`chaos | ${'20 clients, one request_id'.padEnd(34)} | calls 20 | distinct orders ${ids.size} | rows ${rows[0].n}\n`);
    expect(ids.size).toBe(1);
    expect(rows[0].n).toBe(1);
  });
});
