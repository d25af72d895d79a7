import type { Compilable, CompiledQuery, Kysely, RawBuilder } from 'kysely';
import { directQueryRunnerOf } from './direct-query';

// Stands in for a value when the query is built; each run puts the caller's value in its place.
class QueryParameter {
  constructor(readonly name: string) {}
}

/** Names a parameter while the query is built: `param('id')` where the value will go. */
export type QueryParameters<P> = <K extends keyof P & string>(name: K) => P[K];

/** A query built and compiled to SQL once, run with new values each time. */
export interface PreparedQuery<P, O> {
  execute(values: P): Promise<O[]>;
  executeTakeFirst(values: P): Promise<O | undefined>;
}

/**
 * Builds and compiles a Kysely query once, leaving named holes for its values, so a call that runs
 * it pays for neither: building a query and compiling it to SQL cost more than a lookup by
 * primary key on SQLite. The SQL text is the same on every run, so the database reuses the
 * statement prepared for it. Use it for queries whose shape does not depend on the values
 * (not an `in` list of varying length).
 *
 * On a database `openDatabase` made, it runs without Kysely's executor (direct-query.ts): on
 * PostgreSQL pipelined beside the pool (postgres-pipeline.ts). Kysely's query log does not see it;
 * given a transaction or an instance with plugins, it runs through Kysely as any query.
 *
 * ```ts
 * const byId = prepareQuery(db, (param: QueryParameters<{ id: string }>) => db.selectFrom('users').selectAll().where('id', '=', param('id')));
 * const user = await byId.executeTakeFirst({ id });
 * ```
 */
export function prepareQuery<P extends Record<string, unknown>, O, DB = unknown>(db: Kysely<DB>, build: (param: QueryParameters<P>) => Compilable<O> | RawBuilder<O>): PreparedQuery<P, O> {
  const built = build((name) => new QueryParameter(name) as never);
  // A raw `sql` statement is compiled by the database it runs on.
  const compiled = 'isRawBuilder' in built ? built.compile(db) : built.compile();
  const names = compiled.parameters.map((value) => (value instanceof QueryParameter ? value.name : undefined));
  const parametersOf = (values: P): unknown[] =>
    compiled.parameters.map((value, i) => {
      const name = names[i];
      return name === undefined ? value : values[name];
    });
  // A database opened by openDatabase runs it straight on its connection when it can (see direct-query.ts).
  const direct = directQueryRunnerOf(db);
  const run = async (values: P): Promise<O[]> => {
    const parameters = parametersOf(values);
    const rows = direct?.(compiled.sql, parameters);
    if (rows !== undefined) return (await rows) as O[];
    const query: CompiledQuery<O> = { ...compiled, parameters };
    return (await db.executeQuery(query)).rows;
  };
  return {
    execute: run,
    executeTakeFirst: async (values) => (await run(values))[0],
  };
}
