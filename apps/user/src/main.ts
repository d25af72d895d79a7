import { ORDER_CREATED_SUBJECT, ORDER_EVENTS_STREAM } from '@switchyard/proto';
import { createAppContext, openEvents, runMain, startEventConsumer, startService } from '@switchyard/runtime';
import { openDatabase, storageEngineFor } from '@switchyard/storage';
import { createKyselyUserRepository } from './kysely-user-repository';
import { ORDER_TOTALS_CONSUMER, orderTotalsHandler } from './order-totals-consumer';
import { userMigrations } from './user-migrations';
import type { UserDatabase } from './user-schema';
import { createUserService } from './user-service';

runMain(async () => {
  const app = createAppContext('user');
  const { config, logger } = app;
  const db = await openDatabase<UserDatabase>({
    serviceName: 'user',
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    statementTimeoutMs: config.databaseStatementTimeoutMs,
    migrations: userMigrations,
    logger,
  });
  const users = createKyselyUserRepository(db, { engine: storageEngineFor(config.databaseUrl) });
  const events = openEvents(app, "users' order counts from OrderCreated events");
  const consumer =
    events &&
    startEventConsumer({
      connection: events.connection,
      stream: ORDER_EVENTS_STREAM,
      durable: ORDER_TOTALS_CONSUMER,
      subject: ORDER_CREATED_SUBJECT,
      handle: orderTotalsHandler(users),
      logger,
      metrics: events.metrics,
    });
  await startService({
    ...app,
    services: [createUserService({ users })],
    onShutdown: async () => {
      await consumer?.stop();
      await events?.connection.close();
      await db.destroy();
    },
  });
});
