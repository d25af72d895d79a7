import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { SweepableStore } from './eviction-sweep';
import type { InstanceRecord, InstanceState, RegisterInput, RegistryStore } from './registry-store';

/** Seconds between two heartbeats of one instance: around the interval asked (2 s by default), up to a lease and past it. */
const HEARTBEAT_GAP_BUCKETS = [0.25, 0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 15, 30];

/**
 * The registry's own metrics, recorded around its store: registry_instances{service,state} (read
 * from the store at each scrape, so it cannot drift), registry_heartbeat_interval_seconds (time
 * since the instance's previous heartbeat or registration) and registry_evictions_total (leases
 * the sweep found expired). Returns a store that behaves exactly like `store`.
 */
export function instrumentRegistryStore<S extends RegistryStore & SweepableStore>(store: S, registry: Registry, now: () => number = Date.now): RegistryStore & SweepableStore {
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
  // When each live instance was last heard from; forgotten when it leaves.
  const lastHeard = new Map<string, number>();

  return {
    get leaseTtlMs() {
      return store.leaseTtlMs;
    },
    get heartbeatIntervalMs() {
      return store.heartbeatIntervalMs;
    },
    async register(input: RegisterInput) {
      const registered = await store.register(input);
      lastHeard.set(registered.instanceId, now());
      return registered;
    },
    async heartbeat(instanceId: string, leaseSecret: string, state?: InstanceState) {
      const renewed = await store.heartbeat(instanceId, leaseSecret, state);
      const heardAt = now();
      const previous = lastHeard.get(instanceId);
      if (previous !== undefined) heartbeatGap.observe((heardAt - previous) / 1000);
      lastHeard.set(instanceId, heardAt);
      return renewed;
    },
    async deregister(instanceId: string, leaseSecret: string) {
      await store.deregister(instanceId, leaseSecret);
      lastHeard.delete(instanceId);
    },
    resolve: (serviceName) => store.resolve(serviceName),
    listServices: () => store.listServices(),
    watch: (serviceName, listener) => store.watch(serviceName, listener),
    sweep(): InstanceRecord[] {
      const evicted = store.sweep();
      for (const instance of evicted) {
        evictions.inc({ service: instance.serviceName });
        lastHeard.delete(instance.instanceId);
      }
      return evicted;
    },
  };
}
