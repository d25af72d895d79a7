import { createAppContext, runMain, startService } from '@switchyard/runtime';
import { withCertificateIdentity } from './certificate-access';
import { startRegistryDashboard } from './dashboard/registry-dashboard';
import { startEvictionSweep } from './eviction-sweep';
import { LeaseTable } from './lease-table';
import { tokenAccess } from './registry-access';
import { loadRegistrySettings } from './registry-config';
import { createRegistryService } from './registry-handlers';
import { instrumentRegistryStore } from './registry-metrics';
import { ensureRegistryTokenFile } from './registry-token-file';

runMain(async () => {
  const settings = loadRegistrySettings();
  const wroteToken = ensureRegistryTokenFile();
  const app = createAppContext('registry');
  const { config, logger } = app;
  if (wroteToken) logger.info({ path: process.env.REGISTRY_TOKEN_FILE }, 'wrote a new registry token to REGISTRY_TOKEN_FILE');
  const leases = new LeaseTable({
    leaseTtlMs: settings.leaseTtlMs,
    heartbeatIntervalMs: settings.heartbeatIntervalMs,
    maxInstances: settings.limits.maxInstances,
    maxInstancesPerService: settings.limits.maxInstancesPerService,
  });
  const tokenRules = tokenAccess({ fleetToken: config.registryToken, serviceTokens: settings.serviceTokens, readAccess: settings.readAccess });
  const anyToken = config.registryToken !== undefined || Object.keys(settings.serviceTokens).length > 0;
  const access = config.tls ? withCertificateIdentity(tokenRules, settings.readAccess ?? (anyToken ? 'token' : 'mtls')) : tokenRules;
  const instrumented = app.metrics ? instrumentRegistryStore(leases, app.metrics.registry) : leases;
  const dashboard = settings.dashboard
    ? await startRegistryDashboard({
        ...settings.dashboard,
        store: instrumented,
        readAccess: settings.readAccess ?? (anyToken ? 'token' : config.tls ? 'mtls' : 'open'),
        tokenRules,
        tls: config.tls,
        logger,
      })
    : undefined;
  const store = dashboard?.store ?? instrumented;
  const stopSweep = startEvictionSweep(store, settings.sweepIntervalMs, logger);
  const shutdown = new AbortController();
  await startService({
    ...app,
    // The registry is where others register; it does not register with itself.
    register: false,
    quietMethods: ['/switchyard.registry.v1.RegistryService/Heartbeat'],
    services: [
      createRegistryService({
        store,
        access,
        limits: settings.limits,
        maxWatchesPerPeer: settings.maxWatchesPerPeer,
        watchStallMs: settings.watchStallMs,
        shutdownSignal: shutdown.signal,
        // Instances re-register within one heartbeat of a restart; hold Watch snapshots until then.
        watchWarmUpMs: settings.heartbeatIntervalMs + 500,
      }),
    ],
    onShutdown: async () => {
      stopSweep();
      await dashboard?.close();
    },
    endStreams: () => shutdown.abort(),
  });
});
