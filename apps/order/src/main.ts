import { ORDER_EVENTS_STREAM } from '@switchyard/proto';
import { createAppContext, createPeerClients, openEvents, runMain, startOutboxRelay, startService } from '@switchyard/runtime';
import { createOutboxStore, openDatabase, storageEngineFor } from '@switchyard/storage';
import { grpcUserDirectory } from './grpc-user-directory';
import { createKyselyOrderRepository } from './kysely-order-repository';
import { orderCreatedEvent } from './order-events';
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
  const engine = storageEngineFor(config.databaseUrl);
  const events = openEvents(app, 'OrderCreated events through the outbox');
  const relay =
    events &&
    startOutboxRelay({
      outbox: createOutboxStore(db, engine),
      connection: events.connection,
      streams: [ORDER_EVENTS_STREAM],
      logger,
      metrics: events.metrics,
    });
  const orders = createKyselyOrderRepository(db, {
    engine,
    events: relay && { eventsFor: (order) => [orderCreatedEvent(order)], onEventsCommitted: () => relay.wake() },
  });
  await startService({
    ...app,
    services: [createOrderService({ orders, users: grpcUserDirectory(clients, 'registry:///user'), logger })],
    onShutdown: async () => {
      clients.close();
      await relay?.stop();
      await events?.connection.close();
      await db.destroy();
    },
  });
});
