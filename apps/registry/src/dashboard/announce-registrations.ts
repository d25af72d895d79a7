import type { RegistryStore } from '../registry-store';

/**
 * The store, telling `onRegister` the service of every instance registered through it, so the
 * dashboard starts watching a new service at once instead of at its next listing. Everything
 * else passes straight through.
 */
export function announceRegistrations(store: RegistryStore, onRegister: (serviceName: string) => void): RegistryStore {
  return {
    get leaseTtlMs() {
      return store.leaseTtlMs;
    },
    get heartbeatIntervalMs() {
      return store.heartbeatIntervalMs;
    },
    async register(input) {
      const registered = await store.register(input);
      onRegister(registered.serviceName);
      return registered;
    },
    heartbeat: (instanceId, leaseSecret, state) => store.heartbeat(instanceId, leaseSecret, state),
    deregister: (instanceId, leaseSecret) => store.deregister(instanceId, leaseSecret),
    resolve: (serviceName) => store.resolve(serviceName),
    listServices: () => store.listServices(),
    watch: (serviceName, listener) => store.watch(serviceName, listener),
  };
}
