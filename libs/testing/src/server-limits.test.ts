import { constants } from 'node:http2';
import { credentials, Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { userV1 } from '@switchyard/proto';
import { DEFAULT_SERVER_LIMITS, defineService, serve, type ServerLimits, type Serving } from '@switchyard/runtime';
import { idleConnection, pingFlood, rapidReset, streamFlood } from './http2-attacks';

const GET_USER = '/switchyard.user.v1.UserService/GetUser';

/** A UserService whose GetUser of id "hold" waits until released, counting the calls it runs at once. */
function heldUserService() {
  const state = { running: 0, maxRunning: 0, started: 0 };
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const service = defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
    async getUser(request) {
      state.started += 1;
      state.running += 1;
      state.maxRunning = Math.max(state.maxRunning, state.running);
      try {
        if (request.id === 'hold') await released;
        return { user: { id: request.id, name: 'Ada', email: 'ada@example.com', createTime: new Date(0), orderCount: 0, totalSpentCents: 0 } };
      } finally {
        state.running -= 1;
      }
    },
    async createUser(request) {
      return { user: { id: 'u1', name: request.name, email: request.email, createTime: new Date(0), orderCount: 0, totalSpentCents: 0 } };
    },
    async batchGetUsers() {
      return { users: [] };
    },
    async listUsers() {
      return { users: [], nextPageToken: '' };
    },
  });
  return { service, state, release };
}

let serving: Serving | undefined;
let client: userV1.UserServiceClient | undefined;
let releaseHeld: (() => void) | undefined;

afterEach(() => {
  releaseHeld?.();
  client?.close();
  serving?.server.forceShutdown();
  serving = client = releaseHeld = undefined;
});

/** Serves the held UserService with the default limits (or `limits`), and a well-behaved client of it. */
async function start(limits?: Partial<ServerLimits>) {
  const held = heldUserService();
  releaseHeld = held.release;
  serving = await serve([held.service], { host: '127.0.0.1', port: 0, limits: limits && { ...DEFAULT_SERVER_LIMITS, ...limits } });
  const address = `127.0.0.1:${serving.port}`;
  client = new userV1.UserServiceClient(address, credentials.createInsecure());
  return { address, state: held.state, client };
}

function getUser(target: userV1.UserServiceClient, id: string, metadata = new Metadata()): Promise<userV1.GetUserResponse> {
  return new Promise((resolve, reject) =>
    target.getUser({ id }, metadata, { deadline: Date.now() + 5_000 }, (error, response) => (error ? reject(error) : resolve(response!))),
  );
}

function createUser(target: userV1.UserServiceClient, name: string): Promise<userV1.CreateUserResponse> {
  return new Promise((resolve, reject) =>
    target.createUser({ name, email: 'ada@example.com' }, new Metadata(), { deadline: Date.now() + 10_000 }, (error, response) => (error ? reject(error) : resolve(response!))),
  );
}

/** Calls GetUser every 50 ms until stopped; every call must succeed. */
function goodClientLoop(target: userV1.UserServiceClient) {
  let stopped = false;
  const failures: string[] = [];
  let answered = 0;
  const loop = (async () => {
    while (!stopped) {
      await getUser(target, 'good').then(
        () => (answered += 1),
        (error: ServiceError) => failures.push(`${Status[error.code]}: ${error.details}`),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { answered, failures };
    },
  };
}

describe('server limits (serve() defaults, real sockets)', () => {
  it('refuses a request message over GRPC_MAX_RECEIVE_MESSAGE_BYTES with RESOURCE_EXHAUSTED naming the limit, and keeps serving', async () => {
    const { client } = await start();
    const error = await createUser(client, 'x'.repeat(DEFAULT_SERVER_LIMITS.maxReceiveMessageBytes + 1024)).catch((caught: ServiceError) => caught);
    expect(error).toMatchObject({ code: Status.RESOURCE_EXHAUSTED });
    expect((error as ServiceError).details).toContain(String(DEFAULT_SERVER_LIMITS.maxReceiveMessageBytes));
    // Just under the limit is served.
    await expect(createUser(client, 'x'.repeat(DEFAULT_SERVER_LIMITS.maxReceiveMessageBytes - 1024))).resolves.toBeDefined();
  });

  it('refuses request metadata over GRPC_MAX_METADATA_BYTES with RESOURCE_EXHAUSTED naming the variable', async () => {
    const { client } = await start();
    const big = new Metadata();
    big.set('x-padding', 'p'.repeat(DEFAULT_SERVER_LIMITS.maxMetadataBytes));
    const error = await getUser(client, 'good', big).catch((caught: ServiceError) => caught);
    expect(error).toMatchObject({ code: Status.RESOURCE_EXHAUSTED });
    expect((error as ServiceError).details).toMatch(/request metadata of \d+ bytes exceeds the limit of 8192 bytes \(GRPC_MAX_METADATA_BYTES\)/);

    // Past what Node's HTTP/2 layer takes at all (64 KiB), the server resets the stream before
    // grpc-js sees it; the client reports the reset.
    const huge = new Metadata();
    huge.set('x-padding', 'p'.repeat(100 * 1024));
    await expect(getUser(client, 'good', huge)).rejects.toMatchObject({ details: expect.stringMatching(/RST_STREAM/) });

    const normal = new Metadata();
    normal.set('x-padding', 'p'.repeat(1024));
    await expect(getUser(client, 'good', normal)).resolves.toBeDefined();
  });

  it('sends GOAWAY ENHANCE_YOUR_CALM "too_many_pings" to a client pinging every 10 ms; a good client is unaffected', async () => {
    const { address, client } = await start();
    const good = goodClientLoop(client);
    const flood = await pingFlood(address, 10, 5_000);
    const { answered, failures } = await good.stop();

    expect(flood.goaway).toEqual({ errorCode: constants.NGHTTP2_ENHANCE_YOUR_CALM, debugData: 'too_many_pings' });
    expect(flood.closedByServer).toBe(true);
    // Three strikes: the connection ends within a handful of pings, not after thousands.
    expect(flood.pingsSent).toBeLessThan(100);
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(0);
  });

  it('lets a client ping once a second (what our clients do) without closing its connection', async () => {
    const { address } = await start();
    const calm = await pingFlood(address, 1_000, 3_500);
    expect(calm.goaway).toBeUndefined();
    expect(calm.closedByServer).toBe(false);
    expect(calm.pingsSent).toBeGreaterThanOrEqual(3);
  });

  it('lets a client ping every 10 ms along with a call each time (as grpc-go clients do), as gRPC core does', async () => {
    const { address } = await start();
    const call = { path: GET_USER, message: userV1.GetUserRequest.encode({ id: 'good' }).finish() };
    const busy = await pingFlood(address, 10, 1_000, { call });
    expect(busy.goaway).toBeUndefined();
    expect(busy.closedByServer).toBe(false);
    expect(busy.pingsSent).toBeGreaterThan(10);
  });

  it('runs at most GRPC_MAX_CONCURRENT_STREAMS calls of one connection at once and refuses the rest, whatever the client ignores', async () => {
    const { address, state, client } = await start();
    const limit = DEFAULT_SERVER_LIMITS.maxConcurrentStreams;
    const flood = await streamFlood(address, GET_USER, userV1.GetUserRequest.encode({ id: 'hold' }).finish(), 5 * limit, 2_000);

    expect(state.maxRunning).toBeLessThanOrEqual(limit);
    expect(state.maxRunning).toBeGreaterThan(0);
    expect(flood.refused).toBeGreaterThanOrEqual(5 * limit - limit);
    // Another connection is its own budget: the good client is served while the flood's calls are held.
    await expect(getUser(client, 'good')).resolves.toBeDefined();
  });

  it('makes a grpc-js client past GRPC_MAX_CONCURRENT_STREAMS wait: its extra calls run as others finish, and all are answered', async () => {
    const { state, client } = await start({ maxConcurrentStreams: 5 });
    const calls = Array.from({ length: 20 }, () => getUser(client, 'hold'));
    // Wait until the server runs as many as it allows.
    for (let waited = 0; state.running < 5 && waited < 5_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(state.running).toBe(5);
    releaseHeld!();
    await expect(Promise.all(calls)).resolves.toHaveLength(20);
    expect(state.maxRunning).toBe(5);
    expect(state.started).toBe(20);
  });

  it('cuts off a client opening and resetting 10,000 streams at once (HTTP/2 rapid reset); a good client keeps working', async () => {
    const { address, client } = await start();
    const good = goodClientLoop(client);
    const attack = await rapidReset(address, GET_USER, 10_000);
    await expect(getUser(client, 'after')).resolves.toBeDefined();
    const { answered, failures } = await good.stop();

    // Node's HTTP/2 layer (nghttp2 1.57+, Node 20.8.1+) ends a connection that resets streams
    // faster than it allows: the attacker has to reconnect again and again.
    expect(attack.opened).toBe(10_000);
    expect(attack.goaways.length).toBeGreaterThanOrEqual(2);
    expect(attack.connections).toBeGreaterThanOrEqual(2);
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(0);
  }, 30_000);

  it('closes a connection left without calls for GRPC_MAX_CONNECTION_IDLE_MS', async () => {
    const { address } = await start({ maxConnectionIdleMs: 300 });
    const idle = await idleConnection(address, 10_000);
    expect(idle.closedByServer).toBe(true);
    expect(idle.goaway?.errorCode).toBe(constants.NGHTTP2_NO_ERROR);
    expect(idle.afterMs).toBeLessThan(8_000);
  });

  it('closes a connection older than GRPC_MAX_CONNECTION_AGE_MS, letting a call in flight finish within the grace', async () => {
    const { address, client } = await start({ maxConnectionAgeMs: 300, maxConnectionAgeGraceMs: 10_000 });
    const held = getUser(client, 'hold');
    const aged = await idleConnection(address, 10_000);
    expect(aged.closedByServer).toBe(true);
    expect(aged.goaway?.errorCode).toBe(constants.NGHTTP2_NO_ERROR);
    releaseHeld!();
    await expect(held).resolves.toBeDefined();
  });
});
