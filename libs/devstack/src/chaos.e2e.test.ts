// Chaos scenarios against the BUILT apps under load from a separate process. Each prints one
// line: scenario, calls, failed, p99 latency, recovery time. CHAOS_LOAD_MS sets how long each
// load runs (default short enough for CI; raise it for the long form).
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
jest.setTimeout(70_000 + 3 * LOAD_MS + REGISTRY_DOWN_MS);

interface LogLine {
  method?: string;
  code?: number;
  duration_ms: number;
  /** ISO time the line was written (the end of the call). */
  time: string;
  trace_id?: string;
}

function parseLine(line: string): LogLine | undefined {
  try {
    return JSON.parse(line) as LogLine;
  } catch {
    return undefined;
  }
}

function report(scenario: string, load: LoadReport, recoveryMs: number | string) {
  process.stdout.write(
    `chaos | ${scenario.padEnd(34)} | calls ${String(load.calls).padStart(6)} | failed ${load.failed} ${JSON.stringify(load.failures)} | partial ${load.partial} | p99 ${load.p99Ms.toFixed(1)} ms | max ${load.maxMs.toFixed(0)} ms | recovery ${recoveryMs}\n`,
  );
}

describe('chaos: no call is lost', () => {
  let stack: LocalStack;
  let database: { url: string; drop: () => Promise<void> };
  let dataDir: string;
  let registry: ReflectionConnection;
  const userIds: string[] = [];

  const addresses = async (service: string) => {
    const response = (await registry.invoke('switchyard.registry.v1.RegistryService/Resolve', { serviceName: service })).json as {
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

  const load = (durationMs = LOAD_MS) =>
    runLoadProcess(workspaceRoot, { target: stack.address('gateway'), userIds, concurrency: 8, durationMs, deadlineMs: 3000 });

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
  });

  afterAll(async () => {
    registry?.close();
    await stack?.stop();
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('1. two user instances, steady load through the gateway, SIGKILL one: 0 failed calls', async () => {
    const extra = await startExtra('user');
    const running = load();
    await new Promise((r) => setTimeout(r, LOAD_MS / 3));
    const killedAt = Date.now();
    const loadStartedAt = killedAt - LOAD_MS / 3;
    await extra.process.stop('SIGKILL');
    const result = await running;
    const recovery = result.lastProblemAtMs < 0 ? 'none needed' : `${Math.max(0, loadStartedAt + result.lastProblemAtMs - killedAt)} ms`;
    report('SIGKILL one of two user instances', result, recovery);
    expect(result.calls).toBeGreaterThan(100);
    expect(result.failures).toEqual({});
    expect(result.partial).toBe(0);
    // The dead instance leaves the registry by lease expiry, so later scenarios start clean.
    await eventually(async () => !(await addresses('user')).includes(extra.address) && (await addresses('user')).length === 1, 10_000, 'killed user evicted');
  });

  it('2. two user instances, SIGSTOP one (hung, not dead): under 1% failed calls, traffic fully moved within 5 s', async () => {
    const movedWithinMs = 5000;
    // A call that waited on the hung instance takes at least the keepalive timeout (1 s).
    const heldMs = 500;
    const extra = await startExtra('user');
    const gateway = stack.processes.find((p) => p.options.app === 'gateway' && p.running)!;
    const healthy = instanceOn('user', stack.ports.user);
    const [gatewayFrom, healthyFrom] = [gateway.lines.length, healthy.lines.length];
    // Load runs on for 3 s past the 5 s mark, so the calls after it are counted.
    const running = load(LOAD_MS / 3 + movedWithinMs + 3000);
    await new Promise((r) => setTimeout(r, LOAD_MS / 3));
    const stoppedAt = Date.now();
    extra.process.child.kill('SIGSTOP');
    try {
      const result = await running;
      // Per call, from the apps' own log lines: each gateway call's trace id, start and duration,
      // and the trace ids of the GetUser calls the healthy instance answered.
      const gatewayCalls = gateway.lines
        .slice(gatewayFrom)
        .map(parseLine)
        .filter((l): l is LogLine => l?.method?.endsWith('GetUserWithOrders') === true && l.trace_id !== undefined)
        .map((l) => ({ ...l, startedAt: Date.parse(l.time) - l.duration_ms }));
      const servedByHealthy = new Set(
        healthy.lines
          .slice(healthyFrom)
          .map(parseLine)
          .filter((l) => l?.method?.endsWith('UserService/GetUser'))
          .map((l) => l!.trace_id),
      );
      const held = gatewayCalls.filter((c) => c.startedAt >= stoppedAt && c.duration_ms >= heldMs);
      const movedAfterMs = held.length === 0 ? 0 : Math.round(Math.max(...held.map((c) => c.startedAt)) - stoppedAt);
      const late = gatewayCalls.filter((c) => c.startedAt >= stoppedAt + movedWithinMs);
      const lateOnHealthy = late.filter((c) => servedByHealthy.has(c.trace_id) && c.duration_ms < heldMs);
      report(
        'SIGSTOP one of two user instances',
        result,
        `traffic moved ${movedAfterMs} ms after SIGSTOP (${held.length} calls held); from ${movedWithinMs} ms on, ${lateOnHealthy.length}/${late.length} calls served by the healthy instance`,
      );
      expect(result.calls).toBeGreaterThan(100);
      expect((result.failed + result.partial) / result.calls).toBeLessThan(0.01);
      expect(movedAfterMs).toBeLessThan(movedWithinMs);
      expect(late.length).toBeGreaterThan(50);
      expect(lateOnHealthy.length).toBe(late.length);
    } finally {
      extra.process.child.kill('SIGCONT');
      await extra.process.stop('SIGKILL');
    }
    await eventually(async () => (await addresses('user')).length === 1, 10_000, 'stopped user evicted');
  });

  it('3. rolling restart of every user and order instance, one at a time, under load: 0 failed calls', async () => {
    const extraPorts = { user: Number((await startExtra('user')).address.split(':')[1]), order: Number((await startExtra('order')).address.split(':')[1]) };
    const running = load(LOAD_MS * 2);
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
    report(`rolling restart (${restarts} instances)`, result, 'n/a');
    expect(result.failures).toEqual({});
    expect(result.partial).toBe(0);
  });

  it('4. registry SIGKILLed under load, then restarted: 0 failed calls, full view back within 2 heartbeats', async () => {
    const running = load(REGISTRY_DOWN_MS + LOAD_MS);
    await new Promise((r) => setTimeout(r, LOAD_MS / 3));
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
    try {
      const gatewayStarted = Date.now();
      const gatewayError = await gateway
        .invoke('switchyard.gateway.v1.GatewayService/GetUserWithOrders', { userId: userIds[0] }, { deadlineMs })
        .catch((error: { code: number }) => error);
      const gatewayMs = Date.now() - gatewayStarted;
      expect(gatewayError).toMatchObject({ code: 4 });
      // The gateway itself gave up at its deadline (its own log line), not only the client.
      const gatewayLine = await eventually(
        () => stack.processes.flatMap((p) => (p.options.app === 'gateway' ? p.lines : [])).map(parseLine).find((l) => l?.method?.endsWith('GetUserWithOrders') && l.code === 4),
        2000,
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
        `chaos | ${'user slowed beyond the deadline'.padEnd(34)} | gateway DEADLINE_EXCEEDED after ${gatewayLine.duration_ms} ms (client saw ${gatewayMs} ms) of ${deadlineMs} ms | order rows 0\n`,
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
