import { Migrator, type Kysely, type Migration } from 'kysely';
import type { Logger } from 'pino';

/**
 * A service's migrations by name, applied in name order. They are code, not files read at run time,
 * because apps are bundled into one file by esbuild.
 */
export type Migrations = Readonly<Record<string, Migration>>;

export interface RunMigrationsOptions {
  serviceName: string;
  migrations: Migrations;
  logger: Logger;
  /** Schema the bookkeeping tables live in (PostgreSQL); undefined on SQLite. */
  schema: string | undefined;
}

/** Brings the database up to the latest migration; throws when one fails (it was rolled back). */
export async function runMigrations(db: Kysely<unknown>, options: RunMigrationsOptions): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...options.migrations }) },
    // Per-service bookkeeping tables, so services sharing one PostgreSQL database do not read each
    // other's migration history.
    migrationTableName: `${options.serviceName}_migration`,
    migrationLockTableName: `${options.serviceName}_migration_lock`,
    migrationTableSchema: options.schema,
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  for (const result of results) {
    if (result.status === 'Success') options.logger.info({ migration: result.migrationName }, 'applied database migration');
    if (result.status === 'Error') options.logger.error({ migration: result.migrationName }, 'database migration failed');
  }
  if (error) {
    throw new Error(`migrating the ${options.serviceName} database failed: ${(error as Error).message ?? String(error)}`, { cause: error });
  }
}
