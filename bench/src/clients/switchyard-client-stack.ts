import { descriptorSetBase64 } from '@switchyard/proto';
import { createClientFactory, createLogger, idempotentMethodPaths, registerRegistryResolver, startTelemetry, type ClientFactory } from '@switchyard/runtime';
import type { SpanReport } from '../bench-messages';

/** service.name of the load generator's spans. */
const CLIENT_SERVICE = 'bench-client';

export interface SwitchyardClientStack {
  clients: ClientFactory;
  /** Closes the clients and the registry watches, and flushes spans. */
  close(): Promise<void>;
  /** The client's span counts, when it exports spans. */
  spanReport(): SpanReport | undefined;
}

/**
 * The Switchyard client side as an app builds it: tracing SDK on (sampling from
 * OTEL_TRACES_SAMPLER, set by the harness), the registry resolver when `target` is
 * `registry:///...` (REGISTRY_ADDRESS says where), and a client factory with the full interceptor
 * chain (tracing, deadline, retry, logging). Logs go to stdout, which the harness discards.
 */
export function startSwitchyardClientStack(target: string): SwitchyardClientStack {
  const telemetry = startTelemetry({ serviceName: CLIENT_SERVICE, serviceVersion: '0.0.0' });
  const logger = createLogger({ service: CLIENT_SERVICE, level: process.env.LOG_LEVEL ?? 'info', format: 'json' });
  let resolver: { close(): void } | undefined;
  if (target.startsWith('registry:')) {
    const registryAddress = process.env.REGISTRY_ADDRESS;
    if (!registryAddress) throw new Error(`target ${target} needs REGISTRY_ADDRESS`);
    resolver = registerRegistryResolver({ registryAddresses: [registryAddress], logger });
  }
  const clients = createClientFactory({ logger, defaultDeadlineMs: 5000, idempotentMethods: idempotentMethodPaths(descriptorSetBase64) });
  return {
    clients,
    close: async () => {
      clients.close();
      resolver?.close();
      await telemetry.shutdown();
    },
    spanReport: () => (telemetry.exporting ? { service: CLIENT_SERVICE, counts: telemetry.spanCounts() } : undefined),
  };
}
