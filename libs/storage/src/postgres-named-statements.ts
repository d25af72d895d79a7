import { createHash } from 'node:crypto';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

/** Statement texts given a name: more than a service's queries, few enough to bound what each connection keeps prepared. */
export const POSTGRES_NAMED_STATEMENT_LIMIT = 256;

// Statements that take parameters and are planned: worth preparing once per connection.
const PREPARABLE = /^\s*(select|insert|update|delete|with)\b/i;

// A prepared `select *` whose table gained or lost a column since: PostgreSQL refuses to run it
// again (SQLSTATE 0A000) before executing anything, so running the text unnamed instead is safe.
function isStalePlan(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === '0A000' && typeof message === 'string' && message.includes('cached plan must not change result type');
}

/** Runs `text` with `values` on `client`, named as `namedStatements` decides. */
export type NamedStatementRunner = (client: pg.PoolClient, text: string, values: readonly unknown[] | undefined) => Promise<pg.QueryResult>;

/**
 * Runs each query as a named prepared statement: PostgreSQL parses and plans it once per
 * connection instead of on every call, and pg sends only the parameters after the first time.
 * Names are a hash of the SQL text, so a name always means one text. Only the first `limit`
 * distinct texts get a name (the server keeps each prepared on every connection until it closes);
 * any text past that runs unnamed, as before.
 *
 * A migration run by another process (a new version rolling out) can change a table under
 * statements prepared here. A connection that meets such a stale statement runs unnamed from then
 * on, and the query is sent again unnamed once.
 */
export function namedStatements(limit = POSTGRES_NAMED_STATEMENT_LIMIT): NamedStatementRunner {
  const names = new Map<string, string | null>();
  const nameOf = (text: string): string | null => {
    let name = names.get(text);
    if (name === undefined) {
      if (names.size >= limit) return null;
      name = PREPARABLE.test(text) ? `sy_${createHash('sha256').update(text).digest('hex').slice(0, 32)}` : null;
      names.set(text, name);
    }
    return name;
  };
  const unnamedOnly = new WeakSet<pg.PoolClient>();
  return async (client, text, readonlyValues) => {
    const values = readonlyValues as unknown[] | undefined;
    const name = unnamedOnly.has(client) ? null : nameOf(text);
    if (!name) return client.query(text, values);
    try {
      return await client.query({ name, text, values });
    } catch (error) {
      if (!isStalePlan(error)) throw error;
      unnamedOnly.add(client);
      try {
        return await client.query(text, values);
      } catch {
        // Inside a transaction the stale statement has aborted it: what went wrong first is the news.
        throw error;
      }
    }
  };
}

/** `pool` as Kysely's PostgreSQL driver sees it, with each query run by `run` (see `namedStatements`). */
export function withNamedStatements(pool: pg.Pool, limit = POSTGRES_NAMED_STATEMENT_LIMIT, run = namedStatements(limit)): PostgresPool {
  // One wrapper per pg client, so the driver's per-client bookkeeping sees the same object each time.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    let wrapper = wrappers.get(client);
    if (!wrapper) {
      wrapper = {
        query: ((textOrCursor: unknown, parameters?: ReadonlyArray<unknown>) => {
          if (typeof textOrCursor !== 'string') return client.query(textOrCursor as pg.Submittable);
          return run(client, textOrCursor, parameters);
        }) as unknown as PostgresPoolClient['query'],
        release: () => client.release(),
      };
      wrappers.set(client, wrapper);
    }
    return wrapper;
  };
  return {
    connect: async () => wrap(await pool.connect()),
    end: () => pool.end(),
  };
}
