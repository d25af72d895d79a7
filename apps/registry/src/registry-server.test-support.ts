// Test support (not a test): a real registry server on a chosen or ephemeral loopback port.
import { serve } from '@switchyard/runtime';
import { startEvictionSweep } from './eviction-sweep';
import { LeaseTable, type LeaseTableOptions } from './lease-table';
import { tokenAccess, type TokenAccessOptions } from './registry-access';
import { createRegistryService } from './registry-handlers';
import type { RegistryLimits } from './registry-limits';

export interface TestRegistry {
  address: string;
  port: number;
  store: LeaseTable;
  /** Stops at once, cutting open streams. */
  stop(): void;
}

export interface TestRegistryOptions extends LeaseTableOptions, TokenAccessOptions {
  port?: number;
  /** The fleet token (REGISTRY_TOKEN). */
  token?: string;
  sweepIntervalMs?: number;
  /** Field limits of Register; the instance caps come from maxInstances and maxInstancesPerService. */
  limits?: RegistryLimits;
  maxWatchesPerPeer?: number;
  watchStallMs?: number;
  /** Another test registry's store, for replicas over one shared store. Default: a store of its own. */
  store?: LeaseTable;
}

export async function startRegistry(options: TestRegistryOptions = {}): Promise<TestRegistry> {
  const store = options.store ?? new LeaseTable(options);
  const shutdown = new AbortController();
  const access = tokenAccess({ fleetToken: options.token, serviceTokens: options.serviceTokens, readAccess: options.readAccess });
  const service = createRegistryService({
    store,
    access,
    shutdownSignal: shutdown.signal,
    limits: options.limits,
    maxWatchesPerPeer: options.maxWatchesPerPeer,
    watchStallMs: options.watchStallMs,
  });
  const { server, port } = await serve([service], {
    host: '127.0.0.1',
    port: options.port ?? 0,
  });
  const stopSweep = startEvictionSweep(store, options.sweepIntervalMs ?? 50);
  return {
    address: `127.0.0.1:${port}`,
    port,
    store,
    stop() {
      stopSweep();
      shutdown.abort();
      server.forceShutdown();
    },
  };
}
