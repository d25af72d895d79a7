// End to end: the BUILT apps as child processes (SQLite). The order process is frozen (SIGSTOP):
// the gateway's breaker for order opens, GetUserWithOrders answers the user with a partial
// failure at once, and after SIGCONT the breaker closes and orders come back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectReflection, eventually, type ReflectionConnection } from '@switchyard/testing';
import { LocalStack } from './local-stack';

const workspaceRoot = resolve(__dirname, '../../..');
jest.setTimeout(90_000);

interface UserWithOrders {
  user?: { id: string };
  orders?: { id: string }[];
  partialFailures?: { source: string; code: string; message: string }[];
}

describe("the gateway's breaker for order", () => {
  let stack: LocalStack;
  let dataDir: string;
  let gateway: ReflectionConnection;
  const breakerLines: string[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'switchyard-breaker-'));
    stack = await LocalStack.start({
      workspaceRoot,
      dataDir,
      // The gateway waits 1 s on order; 3 such calls in a row open the breaker for 2 s.
      extraEnv: { DEFAULT_DEADLINE_MS: '1000', BREAKER_FAILURES: '3', BREAKER_OPEN_MS: '2000', BREAKER_HUNG_AFTER_MS: '500' },
      onLine: (app, line) => {
        if (app !== 'gateway') return;
        try {
          const entry = JSON.parse(line) as { breaker?: string; upstream?: string };
          if (entry.breaker && entry.upstream === 'order') breakerLines.push(entry.breaker);
        } catch {
          // not a JSON line
        }
      },
    });
    gateway = connectReflection(stack.address('gateway'));
  });

  afterAll(async () => {
    for (const process of stack?.processes ?? []) if (process.running) process.child.kill('SIGCONT');
    gateway?.close();
    await stack?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const getUserWithOrders = async (userId: string) =>
    (await gateway.invoke('switchyard.gateway.v1.GatewayService/GetUserWithOrders', { user_id: userId }, { deadlineMs: 10_000 })).json as UserWithOrders;

  it('answers the user and a partial failure at once while order is frozen, and orders again once it is back', async () => {
    const created = (await gateway.invoke('switchyard.user.v1.UserService/CreateUser', { name: 'Breaker', email: `breaker-${Date.now()}@example.com` })).json as { user: { id: string } };
    const userId = created.user.id;
    await gateway.invoke('switchyard.order.v1.OrderService/CreateOrder', { user_id: userId, request_id: 'breaker-1', items: [{ sku: 'fuse', quantity: 1, unit_price_cents: 100 }] });
    expect((await getUserWithOrders(userId)).orders).toHaveLength(1);

    const order = stack.processes.find((p) => p.options.app === 'order' && p.running)!;
    order.child.kill('SIGSTOP');
    try {
      // Calls wait on order's deadline until the breaker opens.
      await eventually(async () => (await getUserWithOrders(userId)).partialFailures?.[0]?.message.includes('circuit breaker open'), 20_000, 'the breaker to open');
      const elapsed: number[] = [];
      for (let i = 0; i < 20; i += 1) {
        const started = performance.now();
        const response = await getUserWithOrders(userId);
        elapsed.push(performance.now() - started);
        expect(response.user?.id).toBe(userId);
        expect(response.partialFailures?.map((failure) => failure.source)).toEqual(['order']);
      }
      elapsed.sort((a, b) => a - b);
      const median = elapsed[10]!;
      process.stdout.write(`breaker e2e: GetUserWithOrders with order frozen and the breaker open: median ${median.toFixed(1)} ms, max ${elapsed[19]!.toFixed(1)} ms over 20 calls\n`);
      expect(median).toBeLessThan(50);
    } finally {
      order.child.kill('SIGCONT');
    }

    const back = await eventually(async () => {
      const response = await getUserWithOrders(userId);
      return (response.orders?.length ?? 0) > 0 && response;
    }, 30_000, 'orders to come back');
    expect(back.partialFailures ?? []).toEqual([]);
    // One line per change of state, none per refused call. The 'closed' line is written as the
    // probe's answer goes out, and can reach this process's pipe just after the answer does.
    expect(breakerLines[0]).toBe('open');
    await eventually(() => breakerLines.at(-1) === 'closed', 5000, "the breaker's closed line");
    expect(breakerLines.filter((state, i) => state === breakerLines[i - 1])).toEqual([]);
    expect(breakerLines.length).toBeLessThan(10);
  });
});
