import { createAppContext, runMain, startService } from '@switchyard/runtime';
import { openDatabase } from '@switchyard/storage';
import { createKyselyUserRepository } from './kysely-user-repository';
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
  await startService({
    ...app,
    services: [createUserService({ users: createKyselyUserRepository(db) })],
    onShutdown: () => db.destroy(),
  });
});
