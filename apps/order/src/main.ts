import { createAppContext, createPeerClients, runMain, startService } from '@switchyard/runtime';
import { openDatabase } from '@switchyard/storage';
import { grpcUserDirectory } from './grpc-user-directory';
import { createKyselyOrderRepository } from './kysely-order-repository';
import { orderMigrations } from './order-migrations';
import type { OrderDatabase } from './order-schema';
import { createOrderService } from './order-service';

runMain(async () => {
  const app = createAppContext('order');
  const { config, logger } = app;
  const clients = createPeerClients(app);
  const db = await openDatabase<OrderDatabase>({
    serviceName: 'order',
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    statementTimeoutMs: config.databaseStatementTimeoutMs,
    migrations: orderMigrations,
    logger,
  });
  await startService({
    ...app,
    services: [createOrderService({ orders: createKyselyOrderRepository(db), users: grpcUserDirectory(clients, 'registry:///user'), logger })],
    onShutdown: async () => {
      clients.close();
      await db.destroy();
    },
  });
});
