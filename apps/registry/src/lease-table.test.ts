import { AlreadyExistsError, NotFoundError, PermissionDeniedError, ResourceExhaustedError } from '@switchyard/runtime';
import { LeaseTable, type LeaseTableOptions } from './lease-table';
import type { StoreEvent } from './registry-store';

function fakeClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

// Instance iN gets the lease secret "secret-iN".
function table(clock = fakeClock(), options: LeaseTableOptions = {}) {
  let next = 0;
  return { clock, store: new LeaseTable({ now: clock.now, newId: () => `i${++next}`, newSecret: () => `secret-i${next}`, ...options }) };
}

const user = { serviceName: 'user', address: '10.0.0.1:50052', version: '1.0.0' };

describe('LeaseTable', () => {
  it('registers SERVING with a 6 s lease by default and asks for 2 s heartbeats', () => {
    const { clock, store } = table();
    const instance = store.register(user);
    expect(instance).toMatchObject({ instanceId: 'i1', state: 'SERVING', registeredAt: clock.now(), leaseExpiresAt: clock.now() + 6000 });
    expect(store.leaseTtlMs).toBe(6000);
    expect(store.heartbeatIntervalMs).toBe(2000);
    expect(store.resolve('user').map((i) => i.instanceId)).toEqual(['i1']);
    expect(store.resolve('order')).toEqual([]);
  });

  it('hides an instance the moment its lease expires, and a heartbeat then answers NotFound', () => {
    const { clock, store } = table();
    store.register(user);
    clock.advance(5999);
    expect(store.resolve('user')).toHaveLength(1);
    clock.advance(1);
    expect(store.resolve('user')).toEqual([]);
    expect(store.listServices()).toEqual([]);
    expect(() => store.heartbeat('i1', 'secret-i1')).toThrow(NotFoundError);
  });

  it('renews the lease on heartbeat, from the time of the heartbeat', () => {
    const { clock, store } = table();
    store.register(user);
    clock.advance(4000);
    expect(store.heartbeat('i1', 'secret-i1').leaseExpiresAt).toBe(clock.now() + 6000);
    clock.advance(5000); // 9 s after registering: alive only thanks to the renewal
    expect(store.resolve('user')).toHaveLength(1);
  });

  it('throws NotFound for an id it never issued', () => {
    const { store } = table();
    expect(() => store.heartbeat('nope', 'secret-i1')).toThrow(new NotFoundError('instance', 'nope'));
  });

  it('sweep removes only expired leases, returns them and tells watchers', () => {
    const { clock, store } = table();
    store.register(user);
    clock.advance(3000);
    store.register({ ...user, address: '10.0.0.2:50052' });
    const events: StoreEvent[] = [];
    store.watch('user', (event) => events.push(event));
    clock.advance(3000);
    expect(store.sweep().map((i) => i.instanceId)).toEqual(['i1']);
    expect(store.sweep()).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(['snapshot', 'remove']);
    expect(events[1]).toMatchObject({ type: 'remove', instance: { instanceId: 'i1' } });
    expect(store.listServices()).toEqual([{ serviceName: 'user', instanceCount: 1 }]);
  });

  it('deregister removes at once, tells watchers once, and is idempotent', () => {
    const { store } = table();
    store.register(user);
    const events: StoreEvent[] = [];
    store.watch('user', (event) => events.push(event));
    store.deregister('i1', 'secret-i1');
    store.deregister('i1', 'secret-i1');
    store.deregister('never-existed', '');
    expect(store.resolve('user')).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(['snapshot', 'remove']);
  });

  it('watch gives a snapshot first, then upserts and removes of that service only, until unsubscribed', () => {
    const { store } = table();
    store.register(user);
    const events: StoreEvent[] = [];
    const unsubscribe = store.watch('user', (event) => events.push(event));
    store.register({ ...user, serviceName: 'order', address: '10.0.0.9:50053' });
    store.register({ ...user, address: '10.0.0.2:50052' });
    store.heartbeat('i1', 'secret-i1'); // a renewal is not a change
    store.heartbeat('i1', 'secret-i1', 'DRAINING');
    unsubscribe();
    store.deregister('i3', 'secret-i3');
    expect(events).toEqual([
      { type: 'snapshot', instances: [expect.objectContaining({ instanceId: 'i1' })] },
      { type: 'upsert', instance: expect.objectContaining({ instanceId: 'i3' }) },
      { type: 'upsert', instance: expect.objectContaining({ instanceId: 'i1', state: 'DRAINING' }) },
    ]);
  });

  it("refuses a live lease's address to anyone without its secret, and changes nothing", () => {
    const { store } = table();
    store.register(user);
    const events: StoreEvent[] = [];
    store.watch('user', (event) => events.push(event));
    expect(() => store.register(user)).toThrow(AlreadyExistsError);
    expect(() => store.register({ ...user, leaseSecret: 'secret-i2' })).toThrow(/address 10\.0\.0\.1:50052 is held by a live instance of user/);
    expect(store.resolve('user').map((i) => i.instanceId)).toEqual(['i1']);
    expect(events).toHaveLength(1);
  });

  it("the holder of an address's lease secret replaces its earlier instance at once", () => {
    const { store } = table();
    store.register(user);
    const events: StoreEvent[] = [];
    store.watch('user', (event) => events.push(event));
    expect(store.register({ ...user, leaseSecret: 'secret-i1' }).leaseSecret).toBe('secret-i2');
    expect(store.resolve('user').map((i) => i.instanceId)).toEqual(['i2']);
    expect(events.slice(1).map((e) => [e.type, 'instance' in e ? e.instance.instanceId : ''])).toEqual([
      ['remove', 'i1'],
      ['upsert', 'i2'],
    ]);
  });

  it('replaces by service and address together, and forgets an address once its instance is gone', () => {
    const { clock, store } = table();
    store.register(user); // i1
    store.register({ ...user, serviceName: 'order' }); // i2: same address, another service, kept
    store.deregister('i1', 'secret-i1');
    store.register(user); // i3: nothing left to replace
    clock.advance(6000);
    store.register({ ...user, serviceName: 'order' }); // i4 replaces the expired, unswept i2
    expect(store.resolve('user')).toEqual([]);
    expect(store.resolve('order').map((i) => i.instanceId)).toEqual(['i4']);
    expect(store.sweep().map((i) => i.instanceId)).toEqual(['i3']);
    expect(store.listServices()).toEqual([{ serviceName: 'order', instanceCount: 1 }]);
  });

  it('lists services with their live instance counts, by name', () => {
    const { store } = table();
    store.register({ ...user, serviceName: 'user' });
    store.register({ ...user, serviceName: 'order', address: '10.0.0.5:1' });
    store.register({ ...user, serviceName: 'order', address: '10.0.0.6:1' });
    expect(store.listServices()).toEqual([
      { serviceName: 'order', instanceCount: 2 },
      { serviceName: 'user', instanceCount: 1 },
    ]);
  });

  it('refuses Heartbeat and Deregister with a wrong or missing secret, and changes nothing', () => {
    const { store } = table();
    store.register(user);
    store.register({ ...user, address: '10.0.0.2:50052' });
    expect(() => store.heartbeat('i1', 'secret-i2', 'DRAINING')).toThrow(PermissionDeniedError);
    expect(() => store.heartbeat('i1', '')).toThrow(PermissionDeniedError);
    expect(() => store.deregister('i1', 'secret-i2')).toThrow(PermissionDeniedError);
    expect(() => store.deregister('i1', '')).toThrow(PermissionDeniedError);
    expect(store.resolve('user').map((i) => [i.instanceId, i.state])).toEqual([['i1', 'SERVING'], ['i2', 'SERVING']]);
  });

  it('keeps secrets out of what it stores and tells watchers', () => {
    const { store } = table();
    const events: StoreEvent[] = [];
    store.watch('user', (event) => events.push(event));
    expect(store.register(user).leaseSecret).toBe('secret-i1');
    expect(JSON.stringify([events, store.resolve('user')])).not.toContain('secret');
  });

  it('refuses instances beyond the per-service and total caps, counting only live leases', () => {
    const { clock, store } = table(fakeClock(), { maxInstances: 3, maxInstancesPerService: 2 });
    store.register(user);
    store.register({ ...user, address: '10.0.0.2:50052' });
    expect(() => store.register({ ...user, address: '10.0.0.3:50052' })).toThrow(
      new ResourceExhaustedError('service user has its limit of 2 instances (REGISTRY_MAX_INSTANCES_PER_SERVICE)'),
    );
    store.register({ ...user, serviceName: 'order' });
    expect(() => store.register({ ...user, serviceName: 'gateway' })).toThrow(/limit of 3 instances \(REGISTRY_MAX_INSTANCES\)/);
    // Taking back one's own address needs no room; expired leases make room without a sweep.
    store.register({ ...user, leaseSecret: 'secret-i1' });
    clock.advance(6000);
    store.register({ ...user, serviceName: 'gateway' });
    expect(store.listServices()).toEqual([{ serviceName: 'gateway', instanceCount: 1 }]);
  });

  it('refuses a heartbeat interval that is not shorter than the TTL', () => {
    expect(() => new LeaseTable({ leaseTtlMs: 1000, heartbeatIntervalMs: 1000 })).toThrow(/shorter than the lease TTL/);
  });
});
