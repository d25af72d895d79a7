import type Database from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** Distinct statements kept prepared: far more than the queries a service has, few enough to bound memory. */
export const SQLITE_STATEMENT_CACHE_SIZE = 256;

/**
 * The database as Kysely's SQLite driver sees it, with each statement prepared once per SQL text
 * and reused: Kysely asks better-sqlite3 to prepare (parse and plan) every query it runs, which
 * costs more than running a lookup by primary key. Reuse is safe because the driver runs one
 * query at a time, and SQLite prepares a statement again by itself after a schema change. The
 * least recently used statement is dropped past `capacity`.
 */
export function withStatementCache(database: Database.Database, capacity = SQLITE_STATEMENT_CACHE_SIZE): SqliteDatabase {
  const statements = new Map<string, SqliteStatement>();
  return {
    prepare(sql) {
      let statement = statements.get(sql);
      if (statement) {
        // Most recently used last, so the first key is the one to drop.
        statements.delete(sql);
      } else {
        statement = database.prepare(sql);
        if (statements.size >= capacity) statements.delete(statements.keys().next().value!);
      }
      statements.set(sql, statement);
      return statement;
    },
    close() {
      statements.clear();
      database.close();
    },
  };
}
