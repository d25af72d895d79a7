// Test support (not a test): the behaviour every RegistryStore must have, as one suite that runs
// against each store (registry-store-contract.test.ts), in real time. Stores that tell watchers
// asynchronously (etcd) are awaited with `eventually`, never with guessed sleeps.
import { AlreadyExistsError, NotFoundError, PermissionDeniedError, ResourceExhaustedError } from '@switchyard/runtime';
import { eventually } from '@switchyard/testing';
import type { RegistryStore, StoreEvent } from './registry-store';

export interface StoreUnderTest {
  store: RegistryStore;
  close(): unknown;
}

export interface StoreContractOptions {
  /** A fresh, empty store with this lease TTL and heartbeat interval (and caps, when given). */
  open(options: { leaseTtlMs: number; heartbeatIntervalMs: number; maxInstances?: number; maxInstancesPerService?: number }): Promise<StoreUnderTest>;
  leaseTtlMs: number;
  heartbeatIntervalMs: number;
  /** How long after its TTL an expired instance may still be listed (sweep interval, etcd's lease checks). */
  expiryGraceMs: number;
}

const user = { serviceName: 'user', address: '10.0.0.1:50052', version: '1.0.0' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `store` with every call answering a promise: the memory store throws synchronously, and handlers await either way. */
function promised(store: RegistryStore): RegistryStore {
  return {
    leaseTtlMs: store.leaseTtlMs,
    heartbeatIntervalMs: store.heartbeatIntervalMs,
    register: async (input) => store.register(input),
    heartbeat: async (instanceId, leaseSecret, state) => store.heartbeat(instanceId, leaseSecret, state),
    deregister: async (instanceId, leaseSecret) => store.deregister(instanceId, leaseSecret),
    resolve: async (serviceName) => store.resolve(serviceName),
    listServices: async () => store.listServices(),
    watch: (serviceName, listener) => store.watch(serviceName, listener),
  };
}

/** Declares the contract's tests in the current describe block. */
export function storeContract(options: StoreContractOptions): void {
  const { leaseTtlMs, heartbeatIntervalMs, expiryGraceMs } = options;
  const opened: StoreUnderTest[] = [];
  afterEach(async () => {
    for (const { close } of opened.splice(0)) await close();
  });
  const open = async (caps: { maxInstances?: number; maxInstancesPerService?: number } = {}) => {
    const made = await options.open({ leaseTtlMs, heartbeatIntervalMs, ...caps });
    opened.push(made);
    return promised(made.store);
  };
  /** Watches `serviceName`, collecting what the store tells. */
  const record = (store: RegistryStore, serviceName: string) => {
    const events: StoreEvent[] = [];
    const unsubscribe = store.watch(serviceName, (event) => events.push(event));
    const describe = () => events.map((e) => (e.type === 'snapshot' ? `snapshot:${e.instances.map((i) => i.instanceId).join(',')}` : `${e.type}:${e.instance.instanceId}`));
    const until = (count: number) => eventually(() => events.length >= count, 10_000, `${count} watch events (have ${describe().join(' ')})`);
    return { events, unsubscribe, describe, until };
  };
  const ids = async (store: RegistryStore, serviceName: string) => (await store.resolve(serviceName)).map((i) => i.instanceId).sort();

  it('registers SERVING with a lease, resolves it and counts it, and keeps the secret out of records and events', async () => {
    const store = await open();
    const watch = record(store, 'user');
    const before = Date.now();
    const instance = await store.register({ ...user, metadata: { zone: 'a' }, zone: 'eu-1' });
    expect(instance).toMatchObject({ serviceName: 'user', address: user.address, version: '1.0.0', state: 'SERVING', zone: 'eu-1', metadata: { zone: 'a' } });
    expect(instance.leaseSecret.length).toBeGreaterThanOrEqual(32);
    expect(instance.leaseExpiresAt).toBeGreaterThanOrEqual(before + leaseTtlMs);
    expect(store.leaseTtlMs).toBe(leaseTtlMs);
    expect(store.heartbeatIntervalMs).toBe(heartbeatIntervalMs);
    expect(await ids(store, 'user')).toEqual([instance.instanceId]);
    expect(await store.resolve('order')).toEqual([]);
    expect(await store.listServices()).toEqual([{ serviceName: 'user', instanceCount: 1 }]);
    await watch.until(2);
    watch.unsubscribe();
    expect(JSON.stringify([watch.events, await store.resolve('user')])).not.toContain(instance.leaseSecret);
  });

  it('keeps an instance that heartbeats past its TTL, and removes one that stops, telling watchers', async () => {
    const store = await open();
    const kept = await store.register(user);
    const dropped = await store.register({ ...user, address: '10.0.0.2:50052' });
    const watch = record(store, 'user');
    await watch.until(1);
    const until = Date.now() + leaseTtlMs * 1.5;
    while (Date.now() < until) {
      const renewed = await store.heartbeat(kept.instanceId, kept.leaseSecret);
      expect(renewed.leaseExpiresAt).toBeGreaterThan(Date.now());
      await sleep(heartbeatIntervalMs);
    }
    await eventually(async () => (await ids(store, 'user')).length === 1, expiryGraceMs, 'the silent instance to expire');
    expect(await ids(store, 'user')).toEqual([kept.instanceId]);
    await watch.until(2);
    expect(watch.events[1]).toMatchObject({ type: 'remove', instance: { instanceId: dropped.instanceId, address: '10.0.0.2:50052' } });
    await expect(store.heartbeat(dropped.instanceId, dropped.leaseSecret)).rejects.toThrow(NotFoundError);
    expect(await store.listServices()).toEqual([{ serviceName: 'user', instanceCount: 1 }]);
    watch.unsubscribe();
  });

  it('answers NotFound for an id it never issued, and ignores deregistering one', async () => {
    const store = await open();
    await expect(store.heartbeat('nope', 'secret')).rejects.toThrow(new NotFoundError('instance', 'nope'));
    await expect(store.deregister('never-existed', '')).resolves.toBeUndefined();
  });

  it('refuses Heartbeat and Deregister with a wrong or missing secret, and changes nothing', async () => {
    const store = await open();
    const first = await store.register(user);
    const second = await store.register({ ...user, address: '10.0.0.2:50052' });
    await expect(store.heartbeat(first.instanceId, second.leaseSecret, 'DRAINING')).rejects.toThrow(PermissionDeniedError);
    await expect(store.heartbeat(first.instanceId, '')).rejects.toThrow(PermissionDeniedError);
    await expect(store.deregister(first.instanceId, second.leaseSecret)).rejects.toThrow(
      new PermissionDeniedError(`instance "${first.instanceId}" belongs to another lease: send the lease_secret its Register returned`),
    );
    await expect(store.deregister(first.instanceId, '')).rejects.toThrow(PermissionDeniedError);
    expect((await store.resolve('user')).map((i) => i.state)).toEqual(['SERVING', 'SERVING']);
    expect(await ids(store, 'user')).toEqual([first.instanceId, second.instanceId].sort());
  });

  it("refuses a live lease's address to anyone without its secret, and changes nothing", async () => {
    const store = await open();
    const held = await store.register(user);
    const other = await store.register({ ...user, address: '10.0.0.2:50052' });
    await expect(store.register(user)).rejects.toThrow(AlreadyExistsError);
    await expect(store.register({ ...user, leaseSecret: other.leaseSecret })).rejects.toThrow(
      new AlreadyExistsError(`address 10.0.0.1:50052 is held by a live instance of user; present its lease_secret, or wait until its lease expires (at most ${leaseTtlMs} ms)`),
    );
    expect(await ids(store, 'user')).toEqual([held.instanceId, other.instanceId].sort());
  });

  it("the holder of an address's lease secret takes it back at once: watchers see the old one go, then the new one", async () => {
    const store = await open();
    const first = await store.register(user);
    const watch = record(store, 'user');
    await watch.until(1);
    const second = await store.register({ ...user, version: '1.0.1', leaseSecret: first.leaseSecret });
    expect(second.instanceId).not.toBe(first.instanceId);
    expect(second.leaseSecret).not.toBe(first.leaseSecret);
    expect(await ids(store, 'user')).toEqual([second.instanceId]);
    await watch.until(3);
    expect(watch.describe()).toEqual([`snapshot:${first.instanceId}`, `remove:${first.instanceId}`, `upsert:${second.instanceId}`]);
    // The old lease is gone: its secret renews nothing, and the new one holds the address.
    await expect(store.heartbeat(first.instanceId, first.leaseSecret)).rejects.toThrow(NotFoundError);
    await expect(store.register(user)).rejects.toThrow(AlreadyExistsError);
    watch.unsubscribe();
  });

  it('keys addresses by service: the same address in another service is a separate instance', async () => {
    const store = await open();
    const ofUser = await store.register(user);
    const ofOrder = await store.register({ ...user, serviceName: 'order' });
    await store.deregister(ofUser.instanceId, ofUser.leaseSecret);
    const again = await store.register(user);
    expect(await ids(store, 'user')).toEqual([again.instanceId]);
    expect(await ids(store, 'order')).toEqual([ofOrder.instanceId]);
    expect(await store.listServices()).toEqual([
      { serviceName: 'order', instanceCount: 1 },
      { serviceName: 'user', instanceCount: 1 },
    ]);
  });

  it('deregister removes at once, tells watchers once, and is idempotent', async () => {
    const store = await open();
    const instance = await store.register(user);
    const watch = record(store, 'user');
    await watch.until(1);
    await store.deregister(instance.instanceId, instance.leaseSecret);
    await store.deregister(instance.instanceId, instance.leaseSecret);
    expect(await store.resolve('user')).toEqual([]);
    expect(await store.listServices()).toEqual([]);
    await expect(store.heartbeat(instance.instanceId, instance.leaseSecret)).rejects.toThrow(NotFoundError);
    // The address is free again.
    const next = await store.register(user);
    await watch.until(3);
    expect(watch.describe()).toEqual([`snapshot:${instance.instanceId}`, `remove:${instance.instanceId}`, `upsert:${next.instanceId}`]);
    watch.unsubscribe();
  });

  it('watch gives a snapshot first, then upserts and removes of that service only (a renewal is no change), until unsubscribed', async () => {
    const store = await open();
    const first = await store.register(user);
    const watch = record(store, 'user');
    await watch.until(1);
    const late = record(store, 'user');
    await late.until(1);
    await store.register({ ...user, serviceName: 'order', address: '10.0.0.9:50053' });
    const third = await store.register({ ...user, address: '10.0.0.2:50052' });
    await store.heartbeat(first.instanceId, first.leaseSecret);
    const draining = await store.heartbeat(first.instanceId, first.leaseSecret, 'DRAINING');
    expect(draining.state).toBe('DRAINING');
    await watch.until(3);
    watch.unsubscribe();
    await store.deregister(third.instanceId, third.leaseSecret);
    await late.until(4);
    expect(watch.describe()).toEqual([`snapshot:${first.instanceId}`, `upsert:${third.instanceId}`, `upsert:${first.instanceId}`]);
    expect(watch.events[2]).toMatchObject({ instance: { state: 'DRAINING' } });
    expect(late.describe()).toEqual([...watch.describe(), `remove:${third.instanceId}`]);
    expect((await store.resolve('user')).find((i) => i.instanceId === first.instanceId)?.state).toBe('DRAINING');
    // A watcher that comes later starts from the current state.
    const later = record(store, 'user');
    await later.until(1);
    expect(later.describe()).toEqual([`snapshot:${first.instanceId}`]);
    later.unsubscribe();
    late.unsubscribe();
  });

  it('refuses instances beyond the per-service and total caps, counting only live leases', async () => {
    const store = await open({ maxInstances: 3, maxInstancesPerService: 2 });
    const first = await store.register(user);
    await store.register({ ...user, address: '10.0.0.2:50052' });
    await expect(store.register({ ...user, address: '10.0.0.3:50052' })).rejects.toThrow(
      new ResourceExhaustedError('service user has its limit of 2 instances (REGISTRY_MAX_INSTANCES_PER_SERVICE)'),
    );
    const order = await store.register({ ...user, serviceName: 'order' });
    await expect(store.register({ ...user, serviceName: 'gateway' })).rejects.toThrow(
      new ResourceExhaustedError('the registry holds its limit of 3 instances (REGISTRY_MAX_INSTANCES)'),
    );
    // Taking back one's own address needs no room; a deregistered instance makes room.
    await store.register({ ...user, leaseSecret: first.leaseSecret });
    await store.deregister(order.instanceId, order.leaseSecret);
    await store.register({ ...user, serviceName: 'gateway' });
    expect(await store.listServices()).toEqual([
      { serviceName: 'gateway', instanceCount: 1 },
      { serviceName: 'user', instanceCount: 2 },
    ]);
  });
}
