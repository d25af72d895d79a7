// The built user app under hostile HTTP/2 clients: each attack runs over real sockets beside a
// well-behaved client that must keep getting answers, and the app's memory (VmRSS) stays bounded.
import { mkdtemp, rm } from 'node:fs/promises';
import { constants } from 'node:http2';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { credentials, Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { userV1 } from '@switchyard/proto';
import { freePort, partialMessages, pingFlood, rapidReset, residentBytes, streamFlood } from '@switchyard/testing';
import { AppProcess } from './app-process';

const workspaceRoot = resolve(__dirname, '../../..');
const GET_USER = '/switchyard.user.v1.UserService/GetUser';
const MIB = 1024 * 1024;
jest.setTimeout(60_000);

let app: AppProcess;
let address: string;
let dataDir: string;
let client: userV1.UserServiceClient;
let userId: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'limits-e2e-'));
  const port = await freePort();
  address = `127.0.0.1:${port}`;
  app = new AppProcess({
    workspaceRoot,
    app: 'user',
    env: {
      PATH: process.env.PATH ?? '',
      GRPC_PORT: String(port),
      GRPC_HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      // No registry: the app keeps trying to register in the background and serves meanwhile.
      REGISTRY_ADDRESS: `127.0.0.1:${await freePort()}`,
      LOG_LEVEL: 'warn',
      OTEL_SDK_DISABLED: 'true',
    },
  });
  await app.waitUntilServing(address);
  client = new userV1.UserServiceClient(address, credentials.createInsecure());
  const created = await new Promise<userV1.CreateUserResponse>((done, fail) =>
    client.createUser({ name: 'Ada', email: 'ada@example.com' }, new Metadata(), { deadline: Date.now() + 5_000 }, (error, response) => (error ? fail(error) : done(response!))),
  );
  userId = created.user!.id;
});

afterAll(async () => {
  client?.close();
  await app?.stop('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

function getUser(metadata = new Metadata()): Promise<userV1.GetUserResponse> {
  return new Promise((done, fail) =>
    client.getUser({ id: userId }, metadata, { deadline: Date.now() + 5_000 }, (error, response) => (error ? fail(error) : done(response!))),
  );
}

/** Runs `attack` while a good client calls GetUser every 50 ms and the app's RSS is sampled. */
async function underAttack<T>(attack: () => Promise<T>) {
  let stopped = false;
  const failures: string[] = [];
  let answered = 0;
  const before = residentBytes(app.pid!);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, residentBytes(app.pid!))), 50);
  const good = (async () => {
    while (!stopped) {
      await getUser().then(
        () => (answered += 1),
        (error: ServiceError) => failures.push(`${Status[error.code]}: ${error.details}`),
      );
      await new Promise((done) => setTimeout(done, 50));
    }
  })();
  try {
    const result = await attack();
    // The good client is still served once the attack is over.
    await getUser();
    peak = Math.max(peak, residentBytes(app.pid!));
    return { result, answered, failures, before, peak, growth: peak - before };
  } finally {
    stopped = true;
    await good;
    clearInterval(sampler);
  }
}

describe('the built user app under attack', () => {
  it('survives 20,000 streams opened and reset at once (HTTP/2 rapid reset) with bounded memory; the good client keeps working', async () => {
    const outcome = await underAttack(() => rapidReset(address, GET_USER, 20_000));
    console.log(`rapid reset: ${JSON.stringify({ ...outcome.result, goaways: outcome.result.goaways.length })}, RSS ${(outcome.before / MIB).toFixed(0)} -> peak ${(outcome.peak / MIB).toFixed(0)} MiB, good calls ${outcome.answered}`);

    expect(outcome.result.opened).toBe(20_000);
    // Node's HTTP/2 layer ends each connection that resets streams too fast.
    expect(outcome.result.connections).toBeGreaterThanOrEqual(2);
    expect(app.running).toBe(true);
    expect(outcome.failures).toEqual([]);
    expect(outcome.answered).toBeGreaterThan(0);
    expect(outcome.growth).toBeLessThan(150 * MIB);
  });

  it('closes a connection pinging every 10 ms with GOAWAY ENHANCE_YOUR_CALM; the good client keeps working', async () => {
    const outcome = await underAttack(() => pingFlood(address, 10, 5_000));
    expect(outcome.result.goaway).toEqual({ errorCode: constants.NGHTTP2_ENHANCE_YOUR_CALM, debugData: 'too_many_pings' });
    expect(outcome.failures).toEqual([]);
  });

  it('refuses streams past GRPC_MAX_CONCURRENT_STREAMS (200) on one connection; memory stays bounded', async () => {
    const request = userV1.GetUserRequest.encode({ id: userId }).finish();
    const outcome = await underAttack(() => streamFlood(address, GET_USER, request, 5_000, 2_000));
    console.log(`stream flood: ${JSON.stringify(outcome.result)}, RSS ${(outcome.before / MIB).toFixed(0)} -> peak ${(outcome.peak / MIB).toFixed(0)} MiB`);
    // All 5,000 arrive at once: about 200 are run, the rest refused until Node's HTTP/2 layer
    // ends the connection (too many refused streams); none is taken beyond the limit's reach.
    expect(outcome.result.refused).toBeGreaterThanOrEqual(500);
    expect(outcome.result.answered).toBeLessThan(1_000);
    expect(outcome.failures).toEqual([]);
    expect(outcome.growth).toBeLessThan(150 * MIB);
  });

  it('refuses an oversize message and oversize metadata with RESOURCE_EXHAUSTED naming the limit', async () => {
    const outcome = await underAttack(async () => {
      const tooBig = await new Promise<ServiceError>((done) =>
        client.createUser({ name: 'x'.repeat(2 * MIB), email: 'big@example.com' }, new Metadata(), { deadline: Date.now() + 10_000 }, (error) => done(error!)),
      );
      const metadata = new Metadata();
      metadata.set('x-padding', 'p'.repeat(16 * 1024));
      const tooMuchMetadata = await getUser(metadata).catch((error: ServiceError) => error);
      return { tooBig, tooMuchMetadata };
    });
    expect(outcome.result.tooBig).toMatchObject({ code: Status.RESOURCE_EXHAUSTED, details: expect.stringContaining(String(256 * 1024)) });
    expect(outcome.result.tooMuchMetadata).toMatchObject({ code: Status.RESOURCE_EXHAUSTED, details: expect.stringContaining('GRPC_MAX_METADATA_BYTES') });
    expect(outcome.failures).toEqual([]);
  });

  it('holds at most GRPC_MAX_CONCURRENT_STREAMS partial messages of GRPC_MAX_RECEIVE_MESSAGE_BYTES per connection', async () => {
    // Default limits: 200 streams of 256 KiB messages, so about 50 MiB of partial messages.
    const outcome = await underAttack(() => partialMessages(address, '/switchyard.user.v1.UserService/CreateUser', 1_000, 256 * 1024 - 1024, 1_500));
    console.log(`partial messages: ${JSON.stringify(outcome.result)}, RSS ${(outcome.before / MIB).toFixed(0)} -> peak ${(outcome.peak / MIB).toFixed(0)} MiB`);
    expect(outcome.result.held).toBeLessThanOrEqual(200);
    expect(outcome.failures).toEqual([]);
    expect(outcome.growth).toBeLessThan(150 * MIB);
  });
});
