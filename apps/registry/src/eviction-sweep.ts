import type { Logger } from 'pino';
import type { InstanceRecord } from './registry-store';

/** A store whose expired leases someone has to remove (a store with server-side leases, like etcd, needs no sweep). */
export interface SweepableStore {
  sweep(): InstanceRecord[];
}

export const DEFAULT_SWEEP_INTERVAL_MS = 250;

/**
 * Sweeps expired leases every `intervalMs` (default 250), so a dead instance disappears within
 * TTL + intervalMs. The timer is unref'd: it never keeps the process alive. Returns stop.
 */
export function startEvictionSweep(store: SweepableStore, intervalMs = DEFAULT_SWEEP_INTERVAL_MS, logger?: Logger): () => void {
  const timer = setInterval(() => {
    for (const instance of store.sweep()) {
      logger?.info(
        { instance_id: instance.instanceId, service_name: instance.serviceName, address: instance.address },
        'lease expired; instance evicted',
      );
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
