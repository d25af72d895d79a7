import { descriptorSetBase64, userV1 } from '@switchyard/proto';
import {
  callUnary,
  createClientFactory,
  createLogger,
  idempotentMethodPaths,
  registerRegistryResolver,
  startTelemetry,
  type RegistryResolverRegistration,
} from '@switchyard/runtime';
import type { UserCaller } from './user-caller';

/**
 * The Switchyard client as an app builds it: tracing SDK on (sampling from OTEL_TRACES_SAMPLER,
 * set by the harness), the registry resolver when the target is `registry:///user`, a client
 * from createClientFactory (tracing, deadline, retry and logging interceptors), calls through
 * callUnary. Logs go to stdout, which the harness sends to /dev/null.
 */
export function createSwitchyardUserCaller(target: string): UserCaller {
  const telemetry = startTelemetry({ serviceName: 'bench-client', serviceVersion: '0.0.0' });
  const logger = createLogger({ service: 'bench-client', level: process.env.LOG_LEVEL ?? 'info', format: 'json' });
  let resolver: RegistryResolverRegistration | undefined;
  if (target.startsWith('registry:')) {
    const registryAddress = process.env.REGISTRY_ADDRESS;
    if (!registryAddress) throw new Error(`target ${target} needs REGISTRY_ADDRESS`);
    resolver = registerRegistryResolver({ registryAddress, logger });
  }
  const clients = createClientFactory({ logger, defaultDeadlineMs: 5000, idempotentMethods: idempotentMethodPaths(descriptorSetBase64) });
  const client = clients.get(userV1.UserServiceClient, target);
  const getUser = client.getUser.bind(client);
  return {
    getUser: (request) => callUnary(getUser, request),
    close: async () => {
      clients.close();
      resolver?.close();
      await telemetry.shutdown();
    },
  };
}
