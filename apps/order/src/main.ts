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
import { openDatabase } from '@switchyard/storage';
import { grpcUserDirectory } from './grpc-user-directory';
import { createKyselyOrderRepository } from './kysely-order-repository';
import { orderMigrations } from './order-migrations';
import type { OrderDatabase } from './order-schema';
import { createOrderService } from './order-service';

runMain(async () => {
  const config = loadServiceConfig('order');
  const telemetry = startTelemetry({ serviceName: 'order', serviceVersion: config.version });
  const logger = createLogger({ service: 'order', level: config.logLevel, format: config.logFormat, base: { instance_id: telemetry.instanceId } });
  registerRegistryResolver({ registryAddress: config.registryAddress, logger });
  const clients = createClientFactory({
    logger,
    defaultDeadlineMs: config.defaultDeadlineMs,
    idempotentMethods: idempotentMethodPaths(descriptorSetBase64),
  });
  const db = await openDatabase<OrderDatabase>({
    serviceName: 'order',
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    migrations: orderMigrations,
    logger,
  });
  await startService({
    config,
    logger,
    telemetry,
    services: [
      createOrderService({ orders: createKyselyOrderRepository(db), users: grpcUserDirectory(clients, 'registry:///user'), logger }),
    ],
    onShutdown: async () => {
      clients.close();
      await db.destroy();
    },
  });
});
