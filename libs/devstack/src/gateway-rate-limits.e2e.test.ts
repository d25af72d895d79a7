// End to end: the BUILT apps as child processes, the gateway's rate limits in the real Redis
// (127.0.0.1:6379, keys under a prefix of this run only), over HTTP and gRPC, with two gateway
// processes drawing on one limit.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { connectReflection, freePort, type ReflectionConnection } from '@switchyard/testing';
import Redis from 'ioredis';
import { LocalStack } from './local-stack';

const workspaceRoot = resolve(__dirname, '../../..');
jest.setTimeout(60_000);

const REDIS_URL = 'redis://127.0.0.1:6379';
const PREFIX = `switchyard-test:e2e-ratelimit:${randomUUID()}:`;
const GET_USER = 'switchyard.user.v1.UserService/GetUser';
const LIST_USERS = 'switchyard.user.v1.UserService/ListUsers';
// Refills so slowly that a run sees none: what a test admits is exactly the burst.
const RATE_LIMITS = {
  methods: {
    [`/${GET_USER}`]: { rate: 0.001, burst: 10, by: 'address' },
    [`/${LIST_USERS}`]: { rate: 0.001, burst: 2, by: 'address' },
  },
};

describe("the gateway's rate limits, shared in Redis", () => {
  let stack: LocalStack;
  let dataDir: string;
  const connections: ReflectionConnection[] = [];
  const redis = new Redis(REDIS_URL, { lazyConnect: true });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'switchyard-rate-limits-'));
    stack = await LocalStack.start({
      workspaceRoot,
      dataDir,
      extraEnv: { RATE_LIMITS: JSON.stringify(RATE_LIMITS), REDIS_URL, RATE_LIMIT_REDIS_PREFIX: PREFIX },
    });
  });

  afterAll(async () => {
    connections.forEach((connection) => connection.close());
    await stack?.stop();
    const keys = await redis.keys(`${PREFIX}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** HTTP status of a GET sent from `localAddress` (127.0.0.2 is another client on this machine). */
  const statusFrom = (url: string, localAddress: string) =>
    new Promise<number>((resolve, reject) => {
      request(url, { localAddress }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      })
        .on('error', reject)
        .end();
    });

  const codeOf = (call: Promise<unknown>) => call.then(() => Status.OK, (error: ServiceError) => error.code);

  it('two gateway processes admit one burst between them', async () => {
    const secondPort = await freePort();
    await stack.startApp('gateway', { GRPC_PORT: String(secondPort), ADVERTISE_ADDRESS: `127.0.0.1:${secondPort}` });
    const gateways = [connectReflection(stack.address('gateway')), connectReflection(`127.0.0.1:${secondPort}`)];
    connections.push(...gateways);
    const codes: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      for (const gateway of gateways) codes.push(await codeOf(gateway.invoke(GET_USER, { id: 'nobody' }, { deadlineMs: 5000 })));
    }
    // Admitted calls reach the user service and find no such user; each gateway alone would admit 8.
    expect(codes.filter((code) => code === Status.NOT_FOUND)).toHaveLength(10);
    expect(codes.filter((code) => code === Status.RESOURCE_EXHAUSTED)).toHaveLength(6);
    expect(await redis.keys(`${PREFIX}*`)).toHaveLength(1);
  });

  it('answers HTTP 429 with Retry-After and RateLimit-* headers, and a gRPC client cannot name another address to escape', async () => {
    const url = `http://127.0.0.1:${stack.httpPort}/v1/users?pageSize=1`;
    expect((await fetch(url)).status).toBe(200);
    expect((await fetch(url)).status).toBe(200);
    const refused = await fetch(url);
    expect(refused.status).toBe(429);
    expect(Object.fromEntries(['retry-after', 'ratelimit-limit', 'ratelimit-remaining'].map((name) => [name, refused.headers.get(name)]))).toEqual({
      'retry-after': '1000',
      'ratelimit-limit': '2',
      'ratelimit-remaining': '0',
    });
    expect(await refused.json()).toMatchObject({ code: 'RESOURCE_EXHAUSTED', detail: expect.stringContaining(`rate limit "/${LIST_USERS}" exceeded`) });
    // Another HTTP client has its own bucket: its address reaches the limit past the auth
    // middleware, which drops every x-switchyard-* header a call brings.
    expect(await statusFrom(url, '127.0.0.2')).toBe(200);
    expect(await statusFrom(url, '127.0.0.2')).toBe(200);
    expect(await statusFrom(url, '127.0.0.2')).toBe(429);

    // The same client over gRPC (127.0.0.1 too) claiming to be someone else: the same bucket.
    const gateway = connectReflection(stack.address('gateway'));
    connections.push(gateway);
    const error = (await gateway
      .invoke(LIST_USERS, { pageSize: 1 }, { deadlineMs: 5000, metadata: { 'x-switchyard-client-address': '203.0.113.7', 'x-switchyard-client-address-secret': 'guessed' } })
      .catch((e: ServiceError) => e)) as ServiceError;
    expect(error.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(error.metadata.get('ratelimit-limit')).toEqual(['2']);
  });
});
