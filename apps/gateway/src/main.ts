import { descriptorSetBase64 } from '@switchyard/proto';
import {
  createClientFactory,
  createLogger,
  idempotentMethodPaths,
  loadServiceConfig,
  registerRegistryResolver,
  runMain,
  startService,
  startTelemetry,
} from '@switchyard/runtime';
import { grpcUpstream } from './grpc-upstream';
import { createGatewayService } from './user-with-orders';

runMain(async () => {
  const config = loadServiceConfig('gateway');
  const telemetry = startTelemetry({ serviceName: 'gateway', serviceVersion: config.version });
  const logger = createLogger({ service: 'gateway', level: config.logLevel, format: config.logFormat, base: { instance_id: telemetry.instanceId } });
  registerRegistryResolver({ registryAddress: config.registryAddress, logger });
  const clients = createClientFactory({
    logger,
    defaultDeadlineMs: config.defaultDeadlineMs,
    idempotentMethods: idempotentMethodPaths(descriptorSetBase64),
  });
  const upstream = grpcUpstream(clients, { user: 'registry:///user', order: 'registry:///order' });
  await startService({
    config,
    logger,
    telemetry,
    services: [createGatewayService(upstream)],
    onShutdown: () => clients.close(),
  });
});
