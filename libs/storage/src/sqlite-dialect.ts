import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteDialect } from 'kysely';
import { withStatementCache } from './sqlite-statement-cache';

/** How long a writer waits for another process's lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

/**
 * Opens (creating on first start) `<dataDir>/<serviceName>.sqlite` in WAL mode with foreign keys
 * enforced, each statement prepared once. Throws an error naming DATA_DIR when the directory or file cannot be opened.
 */
export function openSqliteDialect(serviceName: string, dataDir: string): { dialect: SqliteDialect; file: string } {
  const file = path.resolve(dataDir, `${serviceName}.sqlite`);
  let database: Database.Database;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    database = new Database(file);
    // WAL lets readers run beside the one writer and survives a crash without losing commits.
    database.pragma('journal_mode = WAL');
    database.pragma('foreign_keys = ON');
    database.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  } catch (error) {
    throw new Error(`cannot open the ${serviceName} SQLite database at ${file} (DATA_DIR=${dataDir}): ${(error as Error).message}`, {
      cause: error,
    });
  }
  return { dialect: new SqliteDialect({ database: withStatementCache(database) }), file };
}
