import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { startEvictionSweep } from './eviction-sweep';
import { LeaseTable } from './lease-table';
import type { RegistrySettings } from './registry-config';
import { instrumentRegistryStore } from './registry-metrics';
import type { RegistryStore } from './registry-store';

export interface OpenedRegistryStore {
  store: RegistryStore;
  /**
   * How long Watch should hold its first snapshots back after start. A registry in memory starts
   * empty and waits one heartbeat (plus a margin) for instances to re-register; etcd outlives a
   * registry restart, so its view is whole at once.
   */
  watchWarmUpMs: number;
  /** Stops the sweep, or ends etcd watches and the etcd client. */
  close(): void;
}

/**
 * The store REGISTRY_STORE asks for, with its metrics when `metrics` is given. The etcd client
 * (a tenth of a registry's start) is loaded only when the store is etcd.
 */
export async function openRegistryStore(settings: RegistrySettings, metrics: Registry | undefined, logger: Logger): Promise<OpenedRegistryStore> {
  const common = {
    leaseTtlMs: settings.leaseTtlMs,
    heartbeatIntervalMs: settings.heartbeatIntervalMs,
    maxInstances: settings.limits.maxInstances,
    maxInstancesPerService: settings.limits.maxInstancesPerService,
  };
  if (settings.store.kind === 'etcd') {
    const [{ connectEtcd }, { EtcdStore }] = await Promise.all([import('./etcd-client'), import('./etcd-store')]);
    const client = connectEtcd(settings.store.endpoints);
    const etcdStore = new EtcdStore({ ...common, client, memberCount: settings.store.endpoints.length, prefix: settings.store.prefix, logger });
    logger.info({ endpoints: settings.store.endpoints, prefix: settings.store.prefix }, 'registry store: etcd (leases expire in etcd; no eviction sweep)');
    return {
      store: metrics ? instrumentRegistryStore(etcdStore, metrics) : etcdStore,
      watchWarmUpMs: 0,
      close() {
        etcdStore.close();
        client.close();
      },
    };
  }
  const leases = new LeaseTable(common);
  const store = metrics ? instrumentRegistryStore(leases, metrics) : leases;
  const stopSweep = startEvictionSweep(store, settings.sweepIntervalMs, logger);
  return { store, watchWarmUpMs: settings.heartbeatIntervalMs + 500, close: stopSweep };
}
