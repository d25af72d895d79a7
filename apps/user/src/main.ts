import { createLogger, loadServiceConfig, runMain, startService, startTelemetry } from '@switchyard/runtime';
import { openDatabase } from '@switchyard/storage';
import { createKyselyUserRepository } from './kysely-user-repository';
import { userMigrations } from './user-migrations';
import type { UserDatabase } from './user-schema';
import { createUserService } from './user-service';

runMain(async () => {
  const config = loadServiceConfig('user');
  const telemetry = startTelemetry({ serviceName: 'user', serviceVersion: config.version });
  const logger = createLogger({ service: 'user', level: config.logLevel, format: config.logFormat, base: { instance_id: telemetry.instanceId } });
  const db = await openDatabase<UserDatabase>({
    serviceName: 'user',
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    migrations: userMigrations,
    logger,
  });
  await startService({
    config,
    logger,
    telemetry,
    services: [createUserService({ users: createKyselyUserRepository(db) })],
    onShutdown: () => db.destroy(),
  });
});
