import { status as Status } from '@grpc/grpc-js';
import { CLIENT_ADDRESS_HEADER, CLIENT_ADDRESS_SECRET_HEADER } from './client-address';
import { memoryTokenBuckets } from './memory-token-buckets';
import { callMany, startLimitedServer, type LimitedServer } from './rate-limited-server.test-support';

const GET_USER = '/switchyard.user.v1.UserService/GetUser';

describe('rate limits at the gateway (in memory, over a real socket)', () => {
  let server: LimitedServer | undefined;
  afterEach(() => server?.stop());

  it('answers RESOURCE_EXHAUSTED naming the rule and key kind once the burst is used, with Retry-After and RateLimit-* trailers', async () => {
    server = await startLimitedServer({ rules: { default: { rate: 0.5, burst: 3, by: 'address' }, methods: {} }, buckets: memoryTokenBuckets() });
    for (let i = 0; i < 3; i += 1) expect((await server.getUser()).code).toBe(Status.OK);
    const refused = await server.getUser();
    expect(refused.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(refused.details).toBe('rate limit "default" exceeded: 0.5 calls per second, bursts of 3, per address; retry in 2s');
    // The key (the client's address) is not told back.
    expect(refused.details).not.toContain('127.0.0.1');
    expect(refused.trailers).toMatchObject({ 'retry-after': '2', 'ratelimit-limit': '3', 'ratelimit-remaining': '0' });
    expect(Number(refused.trailers['ratelimit-reset'])).toBeGreaterThanOrEqual(5);
    expect(Number(refused.trailers['ratelimit-reset'])).toBeLessThanOrEqual(6);
    // The handler did not run for the refused call.
    expect(server.seen).toHaveLength(3);
  });

  it('gives each method its own bucket, and a method rule overrides the default', async () => {
    server = await startLimitedServer({
      rules: { default: { rate: 0.01, burst: 1, by: 'address' }, methods: { [GET_USER]: { rate: 0.01, burst: 5, by: 'address' } } },
      buckets: memoryTokenBuckets(),
    });
    for (let i = 0; i < 5; i += 1) expect((await server.getUser()).code).toBe(Status.OK);
    const sixth = await server.getUser();
    expect(sixth).toMatchObject({ code: Status.RESOURCE_EXHAUSTED, details: expect.stringContaining(`rate limit "${GET_USER}" exceeded`) });
    // ListUsers has the default rule and a bucket of its own.
    expect((await server.listUsers()).code).toBe(Status.OK);
    expect((await server.listUsers()).details).toContain('rate limit "default" exceeded');
  });

  it('by subject: each verified subject has its own bucket, and calls without one share their address\'s', async () => {
    server = await startLimitedServer({ rules: { default: { rate: 0.01, burst: 1, by: 'subject' }, methods: {} }, buckets: memoryTokenBuckets() });
    expect((await server.getUser({ 'x-test-subject': 'alice' })).code).toBe(Status.OK);
    expect((await server.getUser({ 'x-test-subject': 'bob' })).code).toBe(Status.OK);
    expect(await server.getUser({ 'x-test-subject': 'alice' })).toMatchObject({ code: Status.RESOURCE_EXHAUSTED, details: expect.stringContaining('per subject') });
    expect((await server.getUser()).code).toBe(Status.OK);
    expect(await server.getUser()).toMatchObject({ code: Status.RESOURCE_EXHAUSTED, details: expect.stringContaining('per address') });
  });

  it('by address: different subjects from one address share its bucket', async () => {
    server = await startLimitedServer({ rules: { default: { rate: 0.01, burst: 2, by: 'address' }, methods: {} }, buckets: memoryTokenBuckets() });
    expect((await server.getUser({ 'x-test-subject': 'alice' })).code).toBe(Status.OK);
    expect((await server.getUser({ 'x-test-subject': 'bob' })).code).toBe(Status.OK);
    expect(await server.getUser({ 'x-test-subject': 'carol' })).toMatchObject({ code: Status.RESOURCE_EXHAUSTED, details: expect.stringContaining('per address') });
  });

  it('ignores a client address a gRPC client names itself, and never passes the headers on', async () => {
    server = await startLimitedServer({ rules: { default: { rate: 0.01, burst: 1, by: 'address' }, methods: {} }, buckets: memoryTokenBuckets() });
    const spoofed = (address: string, secret?: string) => ({ [CLIENT_ADDRESS_HEADER]: address, ...(secret ? { [CLIENT_ADDRESS_SECRET_HEADER]: secret } : {}) });
    expect((await server.getUser(spoofed('203.0.113.1'))).code).toBe(Status.OK);
    // A fresh address each call would be a fresh bucket each call, if it were believed.
    expect((await server.getUser(spoofed('203.0.113.2'))).code).toBe(Status.RESOURCE_EXHAUSTED);
    expect((await server.getUser(spoofed('203.0.113.3', 'guessed-secret'))).code).toBe(Status.RESOURCE_EXHAUSTED);
    expect((await server.getUser(spoofed('203.0.113.4', 'A'.repeat(43)))).code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(server.seen[0].get(CLIENT_ADDRESS_HEADER)).toEqual([]);
  });

  it('ignores a subject a client names itself: only auth sets one', async () => {
    server = await startLimitedServer({ rules: { default: { rate: 0.01, burst: 1, by: 'subject' }, methods: {} }, buckets: memoryTokenBuckets() });
    expect((await server.getUser({ 'x-switchyard-subject': 'mallory-1' })).code).toBe(Status.OK);
    expect(await server.getUser({ 'x-switchyard-subject': 'mallory-2' })).toMatchObject({ code: Status.RESOURCE_EXHAUSTED, details: expect.stringContaining('per address') });
  });

  it('never refuses a client under its limit: 0 of 10,000 calls', async () => {
    // Far more tokens per second than the calls can use; a burst above the calls in flight.
    server = await startLimitedServer({ rules: { default: { rate: 50_000, burst: 200, by: 'address' }, methods: {} }, buckets: memoryTokenBuckets() });
    const codes = await callMany(10_000, 50, () => server!.getUser());
    expect(codes).toEqual(new Map([[Status.OK, 10_000]]));
  }, 60_000);

  it('limits nothing without rules', async () => {
    server = await startLimitedServer({ rules: undefined, buckets: memoryTokenBuckets() });
    const codes = await callMany(200, 10, () => server!.getUser());
    expect(codes).toEqual(new Map([[Status.OK, 200]]));
  });
});
