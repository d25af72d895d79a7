import { ConfigError, createAppContext, millisecondsVariable, parseEnv, runMain, startService } from '@switchyard/runtime';
import { DEFAULT_SWEEP_INTERVAL_MS, startEvictionSweep } from './eviction-sweep';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_LEASE_TTL_MS, LeaseTable } from './lease-table';
import { createRegistryService } from './registry-handlers';

runMain(async () => {
  const leases = parseEnv({
    LEASE_TTL_MS: millisecondsVariable(DEFAULT_LEASE_TTL_MS),
    HEARTBEAT_INTERVAL_MS: millisecondsVariable(DEFAULT_HEARTBEAT_INTERVAL_MS),
    EVICTION_SWEEP_MS: millisecondsVariable(DEFAULT_SWEEP_INTERVAL_MS),
  });
  if (leases.HEARTBEAT_INTERVAL_MS >= leases.LEASE_TTL_MS) {
    throw new ConfigError(
      `invalid configuration:\n  HEARTBEAT_INTERVAL_MS=${leases.HEARTBEAT_INTERVAL_MS} must be shorter than LEASE_TTL_MS=${leases.LEASE_TTL_MS} (three beats per TTL is the default)`,
    );
  }
  const app = createAppContext('registry');
  const { config, logger } = app;
  const store = new LeaseTable({ leaseTtlMs: leases.LEASE_TTL_MS, heartbeatIntervalMs: leases.HEARTBEAT_INTERVAL_MS });
  const stopSweep = startEvictionSweep(store, leases.EVICTION_SWEEP_MS, logger);
  const shutdown = new AbortController();
  await startService({
    ...app,
    // The registry is where others register; it does not register with itself.
    register: false,
    quietMethods: ['/switchyard.registry.v1.RegistryService/Heartbeat'],
    services: [
      createRegistryService({
        store,
        token: config.registryToken,
        shutdownSignal: shutdown.signal,
        // Instances re-register within one heartbeat of a restart; hold Watch snapshots until then.
        watchWarmUpMs: leases.HEARTBEAT_INTERVAL_MS + 500,
      }),
    ],
    onShutdown: () => stopSweep(),
    endStreams: () => shutdown.abort(),
  });
});
