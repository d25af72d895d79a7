import { Kysely, sql } from 'kysely';
import type { Logger } from 'pino';
import { setDirectQueryRunner } from './direct-query';
import { openPostgresDialect, redactDatabaseUrl } from './postgres-dialect';
import { runMigrations, type Migrations } from './run-migrations';
import { withSchemaScopedIntrospection } from './schema-scoped-introspector';
import { openSqliteDialect } from './sqlite-dialect';
import { translateDatabaseError, withDatabaseErrors } from './database-error-dialect';

export interface OpenDatabaseOptions {
  /** Names the SQLite file and the migration tables, e.g. `user`: lower case, digits, `_`. */
  serviceName: string;
  /** Directory of the SQLite file (DATA_DIR), created on first start. Unused with `databaseUrl`. */
  dataDir: string;
  /** `postgres://…` (DATABASE_URL): use PostgreSQL instead of SQLite. */
  databaseUrl?: string;
  /**
   * PostgreSQL cancels a statement running longer (DATABASE_STATEMENT_TIMEOUT_MS); it then fails as
   * a DeadlineExceededError. Default 5000, the default call deadline.
   */
  statementTimeoutMs?: number;
  /** Applied at open, in name order; already-applied ones are skipped. */
  migrations: Migrations;
  logger: Logger;
}

const SERVICE_NAME = /^[a-z][a-z0-9_]*$/;
const DEFAULT_STATEMENT_TIMEOUT_MS = 5000;

/**
 * Opens the service's database, SQLite at `<dataDir>/<serviceName>.sqlite` or PostgreSQL when
 * `databaseUrl` is set, and migrates it to the latest schema. Throws an error naming DATA_DIR or
 * DATABASE_URL when the database cannot be opened. Close it with `db.destroy()`.
 */
export async function openDatabase<DB>(options: OpenDatabaseOptions): Promise<Kysely<DB>> {
  const { serviceName, dataDir, databaseUrl, migrations, logger } = options;
  if (!SERVICE_NAME.test(serviceName)) throw new Error(`serviceName "${serviceName}" must match ${SERVICE_NAME}`);

  if (!databaseUrl) {
    const { dialect, file, direct } = openSqliteDialect(serviceName, dataDir);
    const db = new Kysely<unknown>({ dialect });
    await migrateOrClose(db, { serviceName, migrations, logger, schema: undefined });
    setDirectQueryRunner(db, direct);
    logger.info({ engine: 'sqlite', file }, 'database ready');
    return typed<DB>(db);
  }

  const statementTimeoutMs = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const { dialect, direct } = openPostgresDialect(serviceName, databaseUrl, logger, statementTimeoutMs);
  const db = new Kysely<unknown>({ dialect: withSchemaScopedIntrospection(withDatabaseErrors(dialect, statementTimeoutMs)) });
  const schema = await currentPostgresSchema(db, serviceName, databaseUrl);
  await migrateOrClose(db, { serviceName, migrations, logger, schema });
  setDirectQueryRunner(db, async (sql, parameters) => {
    try {
      return await direct(sql, parameters);
    } catch (error) {
      throw translateDatabaseError(error, statementTimeoutMs);
    }
  });
  logger.info({ engine: 'postgres', url: redactDatabaseUrl(databaseUrl), schema }, 'database ready');
  return typed<DB>(db);
}

// The table types are the caller's promise about what its migrations created; nothing checks them.
function typed<DB>(db: Kysely<unknown>): Kysely<DB> {
  return db as unknown as Kysely<DB>;
}

// Connects once up front so an unreachable server fails with a message naming DATABASE_URL, and
// learns the schema the tables go in (the first of search_path) for the migration bookkeeping.
async function currentPostgresSchema(db: Kysely<unknown>, serviceName: string, databaseUrl: string): Promise<string> {
  let schema: string | null;
  try {
    const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
    schema = rows[0]?.schema ?? null;
  } catch (error) {
    await db.destroy();
    throw new Error(
      `cannot connect to the ${serviceName} PostgreSQL database (DATABASE_URL=${redactDatabaseUrl(databaseUrl)}): ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (!schema) {
    await db.destroy();
    throw new Error(`the ${serviceName} PostgreSQL database has no schema on its search_path (DATABASE_URL=${redactDatabaseUrl(databaseUrl)})`);
  }
  return schema;
}

async function migrateOrClose(db: Kysely<unknown>, options: Parameters<typeof runMigrations>[1]): Promise<void> {
  try {
    await runMigrations(db, options);
  } catch (error) {
    await db.destroy();
    throw error;
  }
}
