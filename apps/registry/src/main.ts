import { createAppContext, runMain, startService } from '@switchyard/runtime';
import { withCertificateIdentity } from './certificate-access';
import { startRegistryDashboard } from './dashboard/registry-dashboard';
import { openRegistryStore } from './open-registry-store';
import { tokenAccess } from './registry-access';
import { loadRegistrySettings } from './registry-config';
import { createRegistryService } from './registry-handlers';
import { ensureRegistryTokenFile } from './registry-token-file';

runMain(async () => {
  const settings = loadRegistrySettings();
  const wroteToken = ensureRegistryTokenFile();
  const app = createAppContext('registry');
  const { config, logger } = app;
  if (wroteToken) logger.info({ path: process.env.REGISTRY_TOKEN_FILE }, 'wrote a new registry token to REGISTRY_TOKEN_FILE');
  const tokenRules = tokenAccess({ fleetToken: config.registryToken, serviceTokens: settings.serviceTokens, readAccess: settings.readAccess });
  const anyToken = config.registryToken !== undefined || Object.keys(settings.serviceTokens).length > 0;
  const access = config.tls ? withCertificateIdentity(tokenRules, settings.readAccess ?? (anyToken ? 'token' : 'mtls')) : tokenRules;
  const opened = await openRegistryStore(settings, app.metrics?.registry, logger);
  const dashboard = settings.dashboard
    ? await startRegistryDashboard({
        ...settings.dashboard,
        store: opened.store,
        readAccess: settings.readAccess ?? (anyToken ? 'token' : config.tls ? 'mtls' : 'open'),
        tokenRules,
        tls: config.tls,
        logger,
      })
    : undefined;
  // Registrations through the dashboard's view of the store reach its page at once.
  const store = dashboard?.store ?? opened.store;
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
        watchWarmUpMs: opened.watchWarmUpMs,
      }),
    ],
    onShutdown: async () => {
      await dashboard?.close();
      opened.close();
    },
    endStreams: () => shutdown.abort(),
  });
});
