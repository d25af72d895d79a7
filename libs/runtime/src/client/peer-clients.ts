import type { Interceptor } from '@grpc/grpc-js';
import { descriptorSetBase64 } from '@switchyard/proto';
import { registerRegistryResolver } from '../registry/registry-resolver';
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
 * ClientFactoryOptions), e.g. metrics.
 */
export function createPeerClients({ config, logger }: AppContext, options: { interceptors?: Interceptor[] } = {}): ClientFactory {
  const credentials = channelCredentials(config.tls);
  const routingRules = routingRulesSource(config.routingRules, logger);
  registerRegistryResolver({ registryAddress: config.registryAddress, token: config.registryToken, credentials, logger, routingRules });
  const clients = createClientFactory({
    credentials,
    logger,
    defaultDeadlineMs: config.defaultDeadlineMs,
    idempotentMethods: idempotentMethodPaths(descriptorSetBase64),
    retryPolicy: config.retryPolicy,
    serverLimits: config.limits,
    interceptors: options.interceptors,
  });
  return {
    ...clients,
    close() {
      clients.close();
      routingRules.close();
    },
  };
}
