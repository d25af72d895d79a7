import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { status as Status } from '@grpc/grpc-js';
import { eventually, freePort } from '@switchyard/testing';
import Redis from 'ioredis';
import pino from 'pino';
import { callMany, startLimitedServer, type LimitedServer } from './rate-limited-server.test-support';
import { redisTokenBuckets } from './redis-token-buckets';
import type { TokenBuckets } from './token-bucket';

// The Redis every machine runs (CI too); this run's keys only, removed afterwards.
const REDIS_URL = 'redis://127.0.0.1:6379';
const PREFIX = `switchyard-test:ratelimit:${randomUUID()}:`;

function collectingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describe('rate limits shared in Redis', () => {
  const admin = new Redis(REDIS_URL, { lazyConnect: true });
  const opened: { servers: LimitedServer[]; buckets: TokenBuckets[] } = { servers: [], buckets: [] };
  const buckets = (options: Partial<Parameters<typeof redisTokenBuckets>[0]> = {}) => {
    const made = redisTokenBuckets({ url: REDIS_URL, keyPrefix: PREFIX, timeoutMs: 250, ...options });
    opened.buckets.push(made);
    return made;
  };
  const server = async (...args: Parameters<typeof startLimitedServer>) => {
    const started = await startLimitedServer(...args);
    opened.servers.push(started);
    return started;
  };

  afterEach(async () => {
    opened.servers.splice(0).forEach((started) => started.stop());
    await Promise.all(opened.buckets.splice(0).map((made) => made.close()));
    // Each test starts from full buckets.
    const keys = await admin.keys(`${PREFIX}*`);
    if (keys.length > 0) await admin.del(...keys);
  });
  afterAll(() => admin.disconnect());

  it('holds one limit across two gateways within 5%: rate 50/s, burst 50, for 4 s from both', async () => {
    const rules = { default: { rate: 50, burst: 50, by: 'address' as const }, methods: {} };
    const gateways = [await server({ rules, buckets: buckets() }), await server({ rules, buckets: buckets() })];
    const started = performance.now();
    const end = started + 4000;
    const admitted = [0, 0];
    await Promise.all(
      gateways.flatMap((gateway, index) =>
        Array.from({ length: 4 }, async () => {
          while (performance.now() < end) {
            const { code } = await gateway.getUser();
            if (code === Status.OK) admitted[index] += 1;
            else expect(code).toBe(Status.RESOURCE_EXHAUSTED);
          }
        }),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const expected = 50 + 50 * seconds;
    const total = admitted[0] + admitted[1];
    expect(Math.abs(total - expected) / expected).toBeLessThanOrEqual(0.05);
    // Both gateways took part: one shared bucket, not one gateway starving the other.
    expect(Math.min(...admitted)).toBeGreaterThan(0);
  }, 30_000);

  it('never refuses a client under its limit: 0 of 10,000 calls', async () => {
    const limited = await server({ rules: { default: { rate: 50_000, burst: 200, by: 'address' }, methods: {} }, buckets: buckets() });
    const codes = await callMany(10_000, 50, () => limited.getUser());
    expect(codes).toEqual(new Map([[Status.OK, 10_000]]));
  }, 60_000);

  it('fails open when Redis is unreachable: admits the calls, with one warning that counts the failed checks', async () => {
    const { logger, lines } = collectingLogger();
    const closedPort = await freePort();
    const limited = await server({
      rules: { default: { rate: 0.01, burst: 1, by: 'address' }, methods: {} },
      buckets: buckets({ url: `redis://127.0.0.1:${closedPort}` }),
      onStoreFailure: 'open',
      logger,
    });
    const codes = await callMany(20, 1, () => limited.getUser());
    expect(codes).toEqual(new Map([[Status.OK, 20]]));
    const warnings = lines.filter((line) => line.msg === 'rate limit store unavailable; admitting calls unchecked');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, failed_checks: 1, on_failure: 'open' });
  });

  it('fails closed when so configured: UNAVAILABLE, and the handler never runs', async () => {
    const closedPort = await freePort();
    const limited = await server({
      rules: { default: { rate: 100, burst: 100, by: 'address' }, methods: {} },
      buckets: buckets({ url: `redis://127.0.0.1:${closedPort}` }),
      onStoreFailure: 'closed',
    });
    expect(await limited.getUser()).toMatchObject({ code: Status.UNAVAILABLE, details: 'rate limits cannot be checked right now; retry later' });
    expect(limited.seen).toHaveLength(0);
  });

  describe('a Redis that accepts connections and never answers', () => {
    let silent: Server;
    const sockets = new Set<Socket>();
    let port: number;
    beforeAll(async () => {
      silent = createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      port = (silent.address() as { port: number }).port;
    });
    afterAll(async () => {
      sockets.forEach((socket) => socket.destroy());
      await new Promise((resolve) => silent.close(resolve));
    });

    it('gives each check up after the timeout', async () => {
      const made = buckets({ url: `redis://127.0.0.1:${port}`, timeoutMs: 50 });
      // Once connected, a take waits for its answer, until the timeout.
      const reason = await eventually(async () => {
        const failed = await made.take('k', 1, 1).then(
          () => 'answered',
          (error: Error) => error.message,
        );
        return failed.includes('did not answer') && failed;
      });
      expect(reason).toBe('Redis did not answer within 50ms');
    });

    it('fails at once, without sending, while too many checks wait for an answer', async () => {
      const made = buckets({ url: `redis://127.0.0.1:${port}`, timeoutMs: 50, maxPending: 3 });
      await eventually(async () => (await made.take('k', 1, 1).catch((error: Error) => error.message)) === 'Redis did not answer within 50ms');
      await made.take('k', 1, 1).catch(() => undefined);
      await made.take('k', 1, 1).catch(() => undefined);
      await expect(made.take('k', 1, 1)).rejects.toThrow('Redis has 3 checks unanswered');
    });

    it('never holds calls up: fail-open admits each call well inside a 2 s deadline', async () => {
      const limited = await server({
        rules: { default: { rate: 0.01, burst: 1, by: 'address' }, methods: {} },
        buckets: buckets({ url: `redis://127.0.0.1:${port}`, timeoutMs: 50 }),
        onStoreFailure: 'open',
      });
      // Waiting on the silent Redis, a call would end DEADLINE_EXCEEDED.
      for (let i = 0; i < 5; i += 1) expect((await limited.getUser({}, 2000)).code).toBe(Status.OK);
    });
  });
});
