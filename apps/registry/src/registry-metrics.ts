import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { SweepableStore } from './eviction-sweep';
import type { InstanceRecord, InstanceState, RegisterInput, RegistryStore } from './registry-store';

/** Seconds between two heartbeats of one instance: around the interval asked (2 s by default), up to a lease and past it. */
const HEARTBEAT_GAP_BUCKETS = [0.25, 0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 15, 30];

/**
 * The registry's own metrics, recorded around its store: registry_instances{service,state} (read
 * from the store at each scrape, so it cannot drift), registry_heartbeat_interval_seconds (time
 * since the instance's previous heartbeat or registration, as this process saw them) and
 * registry_evictions_total (leases the sweep found expired; a store whose leases expire on their
 * own, like etcd, has no sweep and counts none). Returns a store that behaves exactly like `store`.
 */
export function instrumentRegistryStore(store: RegistryStore & SweepableStore, registry: Registry, now?: () => number): RegistryStore & SweepableStore;
export function instrumentRegistryStore(store: RegistryStore, registry: Registry, now?: () => number): RegistryStore;
export function instrumentRegistryStore(store: RegistryStore & Partial<SweepableStore>, registry: Registry, now: () => number = Date.now): RegistryStore & Partial<SweepableStore> {
  new Gauge({
    name: 'registry_instances',
    help: 'Live instances registered, by service and state.',
    labelNames: ['service', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const { serviceName } of await store.listServices()) {
        const counts: Record<InstanceState, number> = { SERVING: 0, DRAINING: 0 };
        for (const instance of await store.resolve(serviceName)) counts[instance.state] += 1;
        for (const [state, count] of Object.entries(counts)) this.set({ service: serviceName, state }, count);
      }
    },
  });
  const heartbeatGap = new Histogram({ name: 'registry_heartbeat_interval_seconds', help: 'Time between two heartbeats of an instance (the first counts from its registration).', buckets: HEARTBEAT_GAP_BUCKETS, registers: [registry] });
  const evictions = new Counter({ name: 'registry_evictions_total', help: 'Instances removed because their lease expired without a heartbeat.', labelNames: ['service'], registers: [registry] });
  // When each live instance was last heard from; forgotten when it leaves. With several replicas
  // an instance may leave through another one, so entries older than a lease are dropped too.
  const lastHeard = new Map<string, number>();
  let prunedAt = now();
  const heard = (instanceId: string, at: number) => {
    lastHeard.set(instanceId, at);
    if (at - prunedAt < store.leaseTtlMs) return;
    prunedAt = at;
    for (const [id, last] of lastHeard) if (at - last > store.leaseTtlMs) lastHeard.delete(id);
  };

  const instrumented: RegistryStore = {
    get leaseTtlMs() {
      return store.leaseTtlMs;
    },
    get heartbeatIntervalMs() {
      return store.heartbeatIntervalMs;
    },
    async register(input: RegisterInput) {
      const registered = await store.register(input);
      // The service's count starts at 0 before its first eviction: a counter first seen at 1 has
      // no earlier sample, so rate() and increase() would never show that eviction.
      if (store.sweep) evictions.inc({ service: input.serviceName }, 0);
      heard(registered.instanceId, now());
      return registered;
    },
    async heartbeat(instanceId: string, leaseSecret: string, state?: InstanceState) {
      const renewed = await store.heartbeat(instanceId, leaseSecret, state);
      const heardAt = now();
      const previous = lastHeard.get(instanceId);
      if (previous !== undefined) heartbeatGap.observe((heardAt - previous) / 1000);
      heard(instanceId, heardAt);
      return renewed;
    },
    async deregister(instanceId: string, leaseSecret: string) {
      await store.deregister(instanceId, leaseSecret);
      lastHeard.delete(instanceId);
    },
    resolve: (serviceName) => store.resolve(serviceName),
    listServices: () => store.listServices(),
    watch: (serviceName, listener) => store.watch(serviceName, listener),
  };
  const sweep = store.sweep?.bind(store);
  if (!sweep) return instrumented;
  return Object.assign(instrumented, {
    sweep(): InstanceRecord[] {
      const evicted = sweep();
      for (const instance of evicted) {
        evictions.inc({ service: instance.serviceName });
        lastHeard.delete(instance.instanceId);
      }
      return evicted;
    },
  });
}
