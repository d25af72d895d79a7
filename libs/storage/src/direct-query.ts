/**
 * Runs one compiled statement on the database under a Kysely instance and answers its rows, or
 * answers undefined when it cannot run it now (it then goes through Kysely's executor).
 */
export type DirectQueryRunner = (sql: string, parameters: readonly unknown[]) => unknown[] | Promise<unknown[]> | undefined;

// Kysely instances made by openDatabase; a transaction, or one with plugins, is another instance.
const runners = new WeakMap<object, DirectQueryRunner>();

/** Lets `prepareQuery` run statements on `db` through `runner` instead of Kysely's executor. */
export function setDirectQueryRunner(db: object, runner: DirectQueryRunner): void {
  runners.set(db, runner);
}

export function directQueryRunnerOf(db: object): DirectQueryRunner | undefined {
  return runners.get(db);
}
