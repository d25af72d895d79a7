import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteDialect, type Dialect, type Driver } from 'kysely';
import { forwardingDriver, withWrappedDriver } from './driver-wrapping';
import type { DirectQueryRunner } from './direct-query';
import { withStatementCache } from './sqlite-statement-cache';

/** How long a writer waits for another process's lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

/**
 * Opens (creating on first start) `<dataDir>/<serviceName>.sqlite` in WAL mode with foreign keys
 * enforced, each statement prepared once. Throws an error naming DATA_DIR when the directory or file cannot be opened.
 *
 * `direct` runs a statement on the same statements straight away while Kysely holds the one
 * connection for nothing (no transaction, no query waiting), sparing a call Kysely's executor:
 * the connection mutex, the driver's promises. While Kysely holds it, it answers undefined and the
 * statement waits its turn through Kysely, so it never runs inside another caller's transaction.
 */
export function openSqliteDialect(serviceName: string, dataDir: string): { dialect: Dialect; file: string; direct: DirectQueryRunner } {
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
  const statements = withStatementCache(database);
  const inner = new SqliteDialect({ database: statements });
  // Connections Kysely holds or waits for (SQLite has one: the driver's mutex serializes them).
  let held = 0;
  const dialect = withWrappedDriver(inner, (driver) => countingDriver(driver, (change) => (held += change)));
  const direct: DirectQueryRunner = (sql, parameters) => {
    if (held > 0) return undefined;
    // As Kysely's SQLite connection runs it, synchronously.
    const statement = statements.prepare(sql);
    if (statement.reader) return statement.all(parameters);
    statement.run(parameters);
    return [];
  };
  return { dialect, file, direct };
}

// `driver`, telling `count` of each connection asked for (+1, before it is granted) and given back (-1).
function countingDriver(driver: Driver, count: (change: 1 | -1) => void): Driver {
  return {
    ...forwardingDriver(driver),
    async acquireConnection() {
      count(1);
      try {
        return await driver.acquireConnection();
      } catch (error) {
        count(-1);
        throw error;
      }
    },
    async releaseConnection(connection) {
      try {
        await driver.releaseConnection(connection);
      } finally {
        count(-1);
      }
    },
  };
}
