import { credentials, Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { registryV1 } from '@switchyard/proto';
import { startTestServer, type TestServer } from '@switchyard/testing';
import { startEvictionSweep } from './eviction-sweep';
import { LeaseTable } from './lease-table';
import { tokenAccess } from './registry-access';
import { createRegistryService } from './registry-handlers';
import { eventually } from '@switchyard/testing';
import { ManualClock } from '@switchyard/runtime/testing';

const { InstanceState, WatchEventType } = registryV1;
type Client = registryV1.RegistryServiceClient;

function call<Req, Res>(client: Client, method: 'register' | 'heartbeat' | 'deregister' | 'resolve' | 'listServices', request: Req, metadata = new Metadata()): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = client[method].bind(client) as unknown as (r: Req, m: Metadata, o: object, cb: (e: ServiceError | null, res: Res) => void) => void;
    fn(request, metadata, { deadline: Date.now() + 10_000 }, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

const register = (client: Client, request: Partial<registryV1.RegisterRequest>, metadata?: Metadata) =>
  call<registryV1.RegisterRequest, registryV1.RegisterResponse>(client, 'register', registryV1.RegisterRequest.fromPartial(request), metadata);
const heartbeat = (client: Client, request: Partial<registryV1.HeartbeatRequest>, metadata?: Metadata) =>
  call<registryV1.HeartbeatRequest, registryV1.HeartbeatResponse>(client, 'heartbeat', registryV1.HeartbeatRequest.fromPartial(request), metadata);
const deregister = (client: Client, instanceId: string, leaseSecret: string, metadata?: Metadata) =>
  call<registryV1.DeregisterRequest, registryV1.DeregisterResponse>(client, 'deregister', { instanceId, leaseSecret }, metadata);
const resolveService = (client: Client, serviceName: string) =>
  call<registryV1.ResolveRequest, registryV1.ResolveResponse>(client, 'resolve', { serviceName });
const listServices = (client: Client) => call<registryV1.ListServicesRequest, registryV1.ListServicesResponse>(client, 'listServices', {});

async function failure(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected the call to fail');
}

const valid = { serviceName: 'user', address: '127.0.0.1:50052', version: '1.2.3', zone: 'eu-west-1a', metadata: { canary: 'true' } };

/** Collects a Watch stream's messages. */
function watch(client: Client, serviceName: string) {
  const messages: registryV1.WatchResponse[] = [];
  const stream = client.watch({ serviceName });
  let status: ServiceError | undefined;
  stream.on('data', (message: registryV1.WatchResponse) => messages.push(message));
  stream.on('error', (error: ServiceError) => (status = error));
  return { messages, stream, status: () => status };
}

describe('RegistryService', () => {
  let server: TestServer;
  let client: Client;
  let now = 1_700_000_000_000;
  const store = new LeaseTable({ now: () => now });
  let stopSweep: () => void;

  beforeAll(async () => {
    server = await startTestServer([createRegistryService({ store })]);
    client = new registryV1.RegistryServiceClient(server.address, credentials.createInsecure());
    stopSweep = startEvictionSweep(store, 20);
  });
  afterAll(() => {
    stopSweep();
    client.close();
    server.stop();
  });

  it('registers, resolves, lists, heartbeats and deregisters', async () => {
    const registered = await register(client, valid);
    expect(registered.leaseTtl).toEqual({ seconds: 6, nanos: 0 });
    expect(registered.heartbeatInterval).toEqual({ seconds: 2, nanos: 0 });
    const instance = registered.instance!;
    expect(instance).toMatchObject({ ...valid, state: InstanceState.INSTANCE_STATE_SERVING, registerTime: new Date(now), leaseExpireTime: new Date(now + 6000) });

    expect((await resolveService(client, 'user')).instances.map((i) => i.instanceId)).toEqual([instance.instanceId]);
    expect((await listServices(client)).services).toEqual([{ serviceName: 'user', instanceCount: 1 }]);

    now += 1000;
    const { leaseSecret } = registered;
    expect(leaseSecret).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 random bits, base64url
    expect((await heartbeat(client, { instanceId: instance.instanceId, leaseSecret })).leaseExpireTime).toEqual(new Date(now + 6000));
    await heartbeat(client, { instanceId: instance.instanceId, leaseSecret, state: InstanceState.INSTANCE_STATE_DRAINING });
    expect((await resolveService(client, 'user')).instances[0].state).toBe(InstanceState.INSTANCE_STATE_DRAINING);

    await deregister(client, instance.instanceId, leaseSecret);
    await deregister(client, instance.instanceId, leaseSecret); // idempotent
    expect((await resolveService(client, 'user')).instances).toEqual([]);
    const gone = await failure(heartbeat(client, { instanceId: instance.instanceId, leaseSecret }));
    expect(gone.code).toBe(Status.NOT_FOUND);
    expect(gone.details).toBe(`instance "${instance.instanceId}" not found`);
  });

  it('answers NOT_FOUND to a heartbeat for an id it never issued', async () => {
    expect((await failure(heartbeat(client, { instanceId: 'no-such-instance' }))).code).toBe(Status.NOT_FOUND);
  });

  it.each([
    ['service_name: is required', { serviceName: '' }],
    ['service_name: must be lowercase letters', { serviceName: 'User' }],
    ['service_name: must be lowercase letters', { serviceName: 'user_svc' }],
    ['service_name: must be lowercase letters', { serviceName: '-user' }],
    ['service_name: must be at most 63 characters', { serviceName: 'u'.repeat(64) }],
    ['address: is required', { address: '' }],
    ['address: must be host:port', { address: '127.0.0.1' }],
    ['address: must end in a port from 1 to 65535', { address: '127.0.0.1:0' }],
    ['address: must end in a port from 1 to 65535', { address: '127.0.0.1:65536' }],
    ['address: must end in a port from 1 to 65535', { address: '127.0.0.1:http' }],
    ['address: has an invalid host', { address: 'bad host:50052' }],
    ['address: must be an address other processes can dial', { address: '0.0.0.0:50052' }],
    ['version: must be at most 64 characters', { version: 'v'.repeat(65) }],
    ['metadata["bad key"]: key must be', { metadata: { 'bad key': 'x' } }],
    ['metadata["canary"]: value must be at most 256 characters', { metadata: { canary: 'x'.repeat(257) } }],
    ['zone: must be lowercase letters', { zone: 'EU West' }],
    ['state: unknown state 7', { state: 7 as registryV1.InstanceState }],
  ])('Register answers INVALID_ARGUMENT %s', async (message, change) => {
    const error = await failure(register(client, { ...valid, ...change }));
    expect(error.code).toBe(Status.INVALID_ARGUMENT);
    expect(error.details.startsWith(message)).toBe(true);
    // the same violation travels as google.rpc.BadRequest
    const field = message.slice(0, message.indexOf(':'));
    expect(error.metadata.get('grpc-status-details-bin')[0].toString('latin1')).toContain(field);
  });

  it('lists every bad field of one Register at once', async () => {
    const error = await failure(register(client, { serviceName: '', address: 'nope', version: '' }));
    expect(error.code).toBe(Status.INVALID_ARGUMENT);
    expect(error.details).toBe('service_name: is required; address: must be host:port, e.g. 10.0.0.5:50052');
  });

  it('accepts hostnames and bracketed IPv6 addresses', async () => {
    for (const address of ['user:50052', 'user.svc.cluster.local:50052', '[::1]:50052']) {
      const { instance, leaseSecret } = await register(client, { ...valid, serviceName: 'hosts', address });
      await deregister(client, instance!.instanceId, leaseSecret);
    }
  });

  it.each([
    ['Heartbeat', () => heartbeat(client, { instanceId: '' }), 'instance_id: is required'],
    ['Deregister', () => deregister(client, '', ''), 'instance_id: is required'],
    ['Resolve', () => resolveService(client, ''), 'service_name: is required'],
    ['Resolve', () => resolveService(client, 'Not Valid'), 'service_name: must be lowercase'],
  ])('rejects a bad %s as INVALID_ARGUMENT', async (_name, attempt, message) => {
    const error = await failure(attempt());
    expect(error.code).toBe(Status.INVALID_ARGUMENT);
    expect(error.details.startsWith(message)).toBe(true);
  });

  it('rejects a Watch without a service name', async () => {
    const w = watch(client, '');
    const status = await eventually(() => w.status(), 10_000, 'the Watch to fail');
    expect(status.code).toBe(Status.INVALID_ARGUMENT);
    expect(status.details).toBe('service_name: is required');
  });

  it('Watch sends a snapshot, then upserts and removes, including evictions of expired leases', async () => {
    const firstLease = await register(client, { ...valid, serviceName: 'watched', address: '10.0.0.1:1' });
    const first = firstLease.instance!;
    const w = watch(client, 'watched');
    await eventually(() => w.messages.length === 1, 10_000, 'the snapshot');
    expect(w.messages[0]).toEqual({ type: WatchEventType.WATCH_EVENT_TYPE_SNAPSHOT, instances: [first] });

    const secondLease = await register(client, { ...valid, serviceName: 'watched', address: '10.0.0.2:1' });
    const second = secondLease.instance!;
    await register(client, { ...valid, serviceName: 'other', address: '10.0.0.3:1' }); // not this watch's business
    await heartbeat(client, { instanceId: second.instanceId, leaseSecret: secondLease.leaseSecret, state: InstanceState.INSTANCE_STATE_DRAINING });
    await deregister(client, first.instanceId, firstLease.leaseSecret);
    await eventually(() => w.messages.length === 4, 10_000, 'three changes');
    expect(w.messages.slice(1).map((m) => [m.type, m.instances.map((i) => [i.instanceId, i.state])])).toEqual([
      [WatchEventType.WATCH_EVENT_TYPE_UPSERT, [[second.instanceId, InstanceState.INSTANCE_STATE_SERVING]]],
      [WatchEventType.WATCH_EVENT_TYPE_UPSERT, [[second.instanceId, InstanceState.INSTANCE_STATE_DRAINING]]],
      [WatchEventType.WATCH_EVENT_TYPE_REMOVE, [[first.instanceId, InstanceState.INSTANCE_STATE_SERVING]]],
    ]);

    // The second instance stops heartbeating: once its lease is over, the sweeper evicts it.
    now += 6000;
    await eventually(() => w.messages.length === 5, 10_000, 'the eviction');
    expect(w.messages[4]).toMatchObject({ type: WatchEventType.WATCH_EVENT_TYPE_REMOVE, instances: [{ instanceId: second.instanceId }] });
    expect((await resolveService(client, 'watched')).instances).toEqual([]);
    w.stream.cancel();
  });

  it('ends open Watch streams when the shutdown signal fires', async () => {
    const shutdown = new AbortController();
    const own = await startTestServer([createRegistryService({ store: new LeaseTable(), shutdownSignal: shutdown.signal })]);
    const ownClient = new registryV1.RegistryServiceClient(own.address, credentials.createInsecure());
    try {
      const stream = ownClient.watch({ serviceName: 'user' });
      let ended = false;
      stream.on('data', () => undefined);
      stream.on('end', () => (ended = true));
      await new Promise((resolve) => stream.once('data', resolve));
      shutdown.abort();
      await eventually(() => ended, 10_000, 'the stream to end');
    } finally {
      ownClient.close();
      own.stop();
    }
  });
});

describe('RegistryService with a token', () => {
  let server: TestServer;
  let client: Client;
  const store = new LeaseTable();
  const bearer = (token: string) => {
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    return metadata;
  };

  beforeAll(async () => {
    server = await startTestServer([createRegistryService({ store, access: tokenAccess({ fleetToken: 's3cret', readAccess: 'open' }) })]);
    client = new registryV1.RegistryServiceClient(server.address, credentials.createInsecure());
  });
  afterAll(() => {
    client.close();
    server.stop();
  });

  it('refuses Register, Heartbeat and Deregister without the token, or with a wrong one', async () => {
    const { instance, leaseSecret } = await register(client, valid, bearer('s3cret'));
    const attempts: [string, (m?: Metadata) => Promise<unknown>][] = [
      ['Register', (m) => register(client, valid, m)],
      ['Heartbeat', (m) => heartbeat(client, { instanceId: instance!.instanceId, leaseSecret }, m)],
      ['Deregister', (m) => deregister(client, instance!.instanceId, leaseSecret, m)],
    ];
    for (const [name, attempt] of attempts) {
      const missing = await failure(attempt());
      expect([name, missing.code, missing.details]).toEqual([name, Status.UNAUTHENTICATED, expect.stringContaining('requires a token')]);
      const wrong = await failure(attempt(bearer('guess')));
      expect([name, wrong.code, wrong.details]).toEqual([name, Status.UNAUTHENTICATED, expect.stringContaining('rejected')]);
    }
    expect(store.resolve('user')).toHaveLength(1); // nothing above changed anything
    await heartbeat(client, { instanceId: instance!.instanceId, leaseSecret }, bearer('s3cret'));
    await deregister(client, instance!.instanceId, leaseSecret, bearer('s3cret'));
    expect(store.resolve('user')).toEqual([]);
  });

  it('keeps reads open when REGISTRY_READ_ACCESS=open', async () => {
    await register(client, valid, bearer('s3cret'));
    expect((await resolveService(client, 'user')).instances).toHaveLength(1);
    expect((await listServices(client)).services).toEqual([{ serviceName: 'user', instanceCount: 1 }]);
    const w = watch(client, 'user');
    await eventually(() => w.messages.length === 1, 10_000, 'the snapshot');
    w.stream.cancel();
  });
});

describe('RegistryService Watch warm-up after a start', () => {
  it('holds the first snapshot until watchWarmUpMs after the start, so instances can re-register first', async () => {
    const clock = new ManualClock();
    const store = new LeaseTable();
    const server = await startTestServer([createRegistryService({ store, watchWarmUpMs: 400, clock })]);
    const client = new registryV1.RegistryServiceClient(server.address, credentials.createInsecure());
    try {
      // The warm-up counts from the start, not from each Watch: 300 ms are left.
      clock.advance(100);
      const watching = watch(client, 'user');
      await eventually(() => clock.pending() === 1, 10_000, 'the Watch to wait out the warm-up');
      // An instance re-registers during the warm-up: the first snapshot already has it.
      await register(client, valid);
      clock.advance(299);
      expect(clock.pending()).toBe(1);
      expect(watching.messages).toEqual([]);
      clock.advance(1);
      const first = await eventually(() => watching.messages[0], 10_000, 'the first snapshot');
      expect(first.type).toBe(WatchEventType.WATCH_EVENT_TYPE_SNAPSHOT);
      expect(first.instances.map((i) => i.address)).toEqual([valid.address]);
      watching.stream.cancel();
    } finally {
      client.close();
      server.stop();
    }
  });
});
