// Two BUILT registries (dist/apps/registry/main.js) as child processes with REGISTRY_STORE=etcd on
// one real 3-member etcd cluster: stateless replicas that serve one fleet, through the loss of an
// etcd member.
import { randomUUID } from 'node:crypto';
import { status as Status } from '@grpc/grpc-js';
import { registryV1 } from '@switchyard/proto';
import { describeWithEtcd, eventually, startEtcdCluster, type EtcdCluster } from '@switchyard/testing';
import { bearer, failure, registryCaller, type RegistryCaller } from './registry-calls.test-support';
import { startRegistryProcess, type RegistryProcess } from './registry-process.test-support';

const TOKEN = 'fleet-token-0123456789abcdef';
// The registry's defaults. Once etcd has a quorum again, an instance has one TTL from the new
// leader's election to get a heartbeat through; 3 s of it ran out on a loaded machine.
const LEASE_TTL_MS = 6000;
const HEARTBEAT_INTERVAL_MS = 2000;
const { WATCH_EVENT_TYPE_UPSERT } = registryV1.WatchEventType;

describeWithEtcd('registry replicas on etcd (built app, child processes)', (etcd) => {
  jest.setTimeout(120_000);
  let cluster: EtcdCluster;
  let replicas: RegistryProcess[] = [];
  let a: RegistryCaller;
  let b: RegistryCaller;
  const closers: (() => void)[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    cluster = await startEtcdCluster(etcd);
    env = {
      REGISTRY_TOKEN: TOKEN,
      REGISTRY_STORE: 'etcd',
      ETCD_ENDPOINTS: cluster.endpoints.join(','),
      ETCD_PREFIX: `/switchyard-e2e/${randomUUID()}/`,
      LEASE_TTL_MS: String(LEASE_TTL_MS),
      HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_INTERVAL_MS),
    };
    replicas = await Promise.all([startRegistryProcess(env, TOKEN), startRegistryProcess(env, TOKEN)]);
    a = registryCaller(replicas[0].address, TOKEN);
    b = registryCaller(replicas[1].address, TOKEN);
  }, 90_000);
  afterEach(() => {
    for (const close of closers.splice(0)) close();
  });
  afterAll(async () => {
    a?.close();
    b?.close();
    await Promise.all(replicas.map((replica) => replica.stop()));
    await cluster?.stop();
  });

  /** Opens a Watch of `serviceName` on `caller`'s registry, collecting every response. */
  const watch = (caller: RegistryCaller, serviceName: string) => {
    const responses: registryV1.WatchResponse[] = [];
    const stream = caller.client.watch({ serviceName }, bearer(TOKEN));
    stream.on('data', (response: registryV1.WatchResponse) => responses.push(response));
    stream.on('error', () => undefined);
    closers.push(() => stream.cancel());
    return responses;
  };
  const idsOn = async (caller: RegistryCaller, serviceName: string) => (await caller.resolve(serviceName)).map((i) => i.instanceId).sort();

  it('serves one fleet from both replicas: registered on A, resolved, renewed and removed on B', async () => {
    const { instance, leaseSecret } = await a.register({ serviceName: 'user', address: '10.0.0.1:50052', version: '1.0.0' });
    // etcd reads are linearizable: B sees the registration as soon as A has answered.
    expect(await idsOn(b, 'user')).toEqual([instance!.instanceId]);
    expect((await failure(b.heartbeat({ instanceId: instance!.instanceId, leaseSecret: 'not-the-secret' }))).code).toBe(Status.PERMISSION_DENIED);
    expect((await failure(b.register({ serviceName: 'user', address: '10.0.0.1:50052', version: '1.0.1' }))).code).toBe(Status.ALREADY_EXISTS);
    await b.heartbeat({ instanceId: instance!.instanceId, leaseSecret, state: registryV1.InstanceState.INSTANCE_STATE_DRAINING });
    expect((await a.resolve('user'))[0].state).toBe(registryV1.InstanceState.INSTANCE_STATE_DRAINING);
    expect(await b.listServices()).toEqual([{ serviceName: 'user', instanceCount: 1 }]);
    await b.deregister({ instanceId: instance!.instanceId, leaseSecret });
    expect(await a.resolve('user')).toEqual([]);
    expect((await failure(a.heartbeat({ instanceId: instance!.instanceId, leaseSecret }))).code).toBe(Status.NOT_FOUND);
  });

  it('streams to a Watch on B a registration made on A', async () => {
    const responses = watch(b, 'order');
    await eventually(() => responses.length >= 1, 10_000, 'the snapshot on B');
    const { instance } = await a.register({ serviceName: 'order', address: '10.0.0.2:50053', version: '1.0.0' });
    const upsert = await eventually(() => responses.find((r) => r.type === WATCH_EVENT_TYPE_UPSERT), 10_000, "B's Watch to show A's registration");
    expect(upsert.instances.map((i) => i.instanceId)).toEqual([instance!.instanceId]);
  });

  it('keeps the view and the writes going with one etcd member SIGKILLed', async () => {
    const kept = await a.register({ serviceName: 'gateway', address: '10.0.0.3:50050', version: '1.0.0' });
    const responses = watch(a, 'gateway');
    await eventually(() => responses.length >= 1, 10_000, 'the snapshot on A');
    // The instance heartbeats through both replicas in turn, as a client failing over would.
    let beating = true;
    let beats = 0;
    const heartbeats = (async () => {
      while (beating) {
        await (beats++ % 2 ? a : b).heartbeat({ instanceId: kept.instance!.instanceId, leaseSecret: kept.leaseSecret });
        await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_INTERVAL_MS));
      }
    })();
    try {
      await cluster.kill(0);
      for (const caller of [a, b]) expect(await idsOn(caller, 'gateway')).toEqual([kept.instance!.instanceId]);
      const added = await b.register({ serviceName: 'gateway', address: '10.0.0.4:50050', version: '1.0.0' });
      await eventually(() => responses.some((r) => r.type === WATCH_EVENT_TYPE_UPSERT && r.instances[0].instanceId === added.instance!.instanceId), 10_000, "A's Watch to show B's registration");
      // Longer than a lease: only the heartbeats keep the first instance alive.
      await new Promise((resolve) => setTimeout(resolve, LEASE_TTL_MS + 1000));
      for (const caller of [a, b]) expect(await idsOn(caller, 'gateway')).toContain(kept.instance!.instanceId);
    } finally {
      beating = false;
      await heartbeats;
    }
    for (const replica of replicas) expect(replica.output()).not.toMatch(/"level":(50|60)/);
  });

  it('answers UNAVAILABLE while etcd has no quorum, without exiting or losing leases, and serves again (Watch included) once it has', async () => {
    await cluster.restart(0);
    const kept = await a.register({ serviceName: 'audit', address: '10.0.0.7:50060', version: '1.0.0' });
    const responses = watch(a, 'audit');
    await eventually(() => responses.length >= 1, 10_000, 'the snapshot on A');
    await cluster.kill(1);
    await cluster.kill(2);
    const lostAt = Date.now();
    for (const call of [a.resolve('audit'), b.register({ serviceName: 'audit', address: '10.0.0.5:50060', version: '1.0.0' })]) {
      const error = await failure(call);
      expect(error.code).toBe(Status.UNAVAILABLE);
      expect(error.details).toMatch(/the registry's etcd store did not answer .*ETCD_ENDPOINTS/);
    }
    // Longer than a lease without a heartbeat: etcd expires no lease while it has no leader.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, lostAt + LEASE_TTL_MS + 1000 - Date.now())));
    const restarted = Promise.all([cluster.restart(1), cluster.restart(2)]);
    // The new leader renews every lease for a full TTL from its election: the instance that could
    // not heartbeat is still there, and its first heartbeat once etcd answers keeps it. It keeps
    // trying while the members restart, as an instance would: waiting for both to be up (or a
    // slow Register first) could let that TTL run out on a busy machine.
    const heartbeat = () => a.heartbeat({ instanceId: kept.instance!.instanceId, leaseSecret: kept.leaseSecret });
    await eventually(heartbeat, 20_000, 'a heartbeat once etcd has a quorum again');
    // From then on it heartbeats every interval, as an instance does, while the rest is checked.
    let beating = true;
    const heartbeats = (async () => {
      while (beating) {
        await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_INTERVAL_MS));
        await heartbeat().catch(() => undefined);
      }
    })();
    try {
      await restarted;
      const { instance } = await eventually(() => b.register({ serviceName: 'audit', address: '10.0.0.5:50060', version: '1.0.0' }), 20_000, 'a Register once etcd has a quorum again');
      await eventually(() => responses.some((r) => r.type === WATCH_EVENT_TYPE_UPSERT && r.instances[0].instanceId === instance!.instanceId), 20_000, "A's Watch, opened before the outage, to show B's registration");
      expect(await idsOn(a, 'audit')).toEqual([kept.instance!.instanceId, instance!.instanceId].sort());
    } finally {
      beating = false;
      await heartbeats;
    }
  });

  it('starts a replica while etcd is down, answering UNAVAILABLE, and serves the fleet once etcd is back', async () => {
    const responses = watch(a, 'billing');
    await eventually(() => responses.length >= 1, 10_000, 'the snapshot on A');
    await Promise.all([0, 1, 2].map((member) => cluster.kill(member)));
    // A third replica of the same fleet. Up means: it answers, and what it answers is the store's UNAVAILABLE (not a refused connection).
    const late = await startRegistryProcess(env, TOKEN, async (probe) => {
      const error = await failure(probe.listServices());
      return error.code === Status.UNAVAILABLE && /etcd store did not answer/.test(error.details);
    });
    const caller = registryCaller(late.address, TOKEN);
    closers.push(() => caller.close());
    try {
      await Promise.all([0, 1, 2].map((member) => cluster.restart(member)));
      const { instance } = await eventually(() => caller.register({ serviceName: 'billing', address: '10.0.0.6:50070', version: '1.0.0' }), 20_000, 'a Register once etcd is back');
      expect(await idsOn(a, 'billing')).toEqual([instance!.instanceId]);
      await eventually(() => responses.some((r) => r.type === WATCH_EVENT_TYPE_UPSERT && r.instances[0].instanceId === instance!.instanceId), 20_000, "A's Watch, opened before etcd went down, to show the new replica's registration");
    } finally {
      await late.stop();
    }
  });
});
