import type { Interceptor } from '@grpc/grpc-js';
import { descriptorSetBase64 } from '@switchyard/proto';
import { clientMetricsInterceptor } from '../metrics/client-metrics-interceptor';
import { ejectionListenerOption, type EjectionListener } from '../registry/outlier-ejection-events';
import { registryChannelResolution } from '../registry/registry-resolver';
import { routingRulesSource } from '../registry/routing-rules-source';
import { channelCredentials } from '../security/transport-credentials';
import type { AppContext } from '../server/app-context';
import { createClientFactory, type ClientFactory } from './client-factory';
import { idempotentMethodPaths } from './method-idempotency';

/**
 * Clients for calling the other apps: `registry:///<app>` targets resolve through the registry's
 * Watch stream, every call goes through the interceptor chain, and retries follow the protos'
 * idempotency levels. Calls to a service with a routing rule (ROUTING_RULES, ROUTING_RULES_FILE)
 * are split between its versions by that rule. `interceptors` are the app's own (see
 * ClientFactoryOptions); the app's metrics, when it has them, record every call.
 */
export function createPeerClients({ config, logger, metrics }: AppContext, options: { interceptors?: Interceptor[] } = {}): ClientFactory {
  const credentials = channelCredentials(config.tls);
  const routingRules = routingRulesSource(config.routingRules, logger);
  // This factory's registries and rules, whatever another factory in the process was given.
  const resolution = registryChannelResolution({ registryAddresses: config.registryAddresses, token: config.registryToken, credentials, logger, routingRules });
  // A warn line as well as the counter: an instance out of rotation changes where calls go.
  let closed = false;
  const onEjection: EjectionListener = (ejection) => {
    if (closed) return;
    metrics?.countEjection(ejection.address);
    logger.warn(
      { address: ejection.address, ejection_ms: ejection.ejectionMs, consecutive_failures: ejection.consecutiveFailures, last_failure: ejection.lastFailure },
      'instance ejected from rotation by outlier detection',
    );
  };
  const clients = createClientFactory({
    credentials,
    logger,
    defaultDeadlineMs: config.defaultDeadlineMs,
    idempotentMethods: idempotentMethodPaths(descriptorSetBase64),
    retryPolicy: config.retryPolicy,
    serverLimits: config.limits,
    // Metrics outermost of the app's own: the duration and code the caller sees.
    interceptors: [...(metrics ? [clientMetricsInterceptor(metrics)] : []), ...(options.interceptors ?? [])],
    metrics,
    // Ejections by these clients' balancers, and no one else's.
    channelOptions: { ...resolution.channelOptions, ...ejectionListenerOption.options(onEjection) },
  });
  return {
    ...clients,
    close() {
      closed = true;
      clients.close();
      resolution.close();
      routingRules.close();
    },
  };
}
