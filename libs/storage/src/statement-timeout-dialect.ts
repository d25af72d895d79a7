import { DeadlineExceededError } from '@switchyard/runtime';
import type { DatabaseConnection, Dialect, Driver, QueryResult } from 'kysely';

// PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout (query_canceled).
const POSTGRES_QUERY_CANCELED = '57014';

/** True when `error` is PostgreSQL cancelling a statement that ran past statement_timeout. */
export function isStatementTimeout(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === POSTGRES_QUERY_CANCELED;
}

/** `error` as a DeadlineExceededError when it is a statement cancelled at its statement_timeout, else itself. */
export function statementTimeoutError(error: unknown, statementTimeoutMs: number): unknown {
  return isStatementTimeout(error)
    ? new DeadlineExceededError(`a database statement ran past ${statementTimeoutMs} ms (DATABASE_STATEMENT_TIMEOUT_MS) and was cancelled`, { cause: error })
    : error;
}

/**
 * `dialect`, except that a statement PostgreSQL cancels at its statement_timeout fails as a
 * DeadlineExceededError (DEADLINE_EXCEEDED, not retried by default, so a database that is already
 * slow is not sent the work again) instead of an unknown error (INTERNAL).
 */
export function withStatementTimeoutErrors(dialect: Dialect, statementTimeoutMs: number): Dialect {
  const translate = (error: unknown) => statementTimeoutError(error, statementTimeoutMs);
  const guarded = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw translate(error);
    }
  };
  return {
    createAdapter: () => dialect.createAdapter(),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createDriver: () => translatingDriver(dialect.createDriver(), guarded),
  };
}

type Guard = <T>(work: () => Promise<T>) => Promise<T>;

function translatingDriver(driver: Driver, guarded: Guard): Driver {
  // The driver gets its own connections back: PostgresDriver releases them through a private symbol.
  const inner = new WeakMap<DatabaseConnection, DatabaseConnection>();
  const unwrap = (connection: DatabaseConnection) => inner.get(connection) ?? connection;
  return {
    init: () => driver.init(),
    destroy: () => driver.destroy(),
    async acquireConnection() {
      const connection = await driver.acquireConnection();
      const wrapped: DatabaseConnection = {
        executeQuery: <R>(query: Parameters<DatabaseConnection['executeQuery']>[0]): Promise<QueryResult<R>> => guarded(() => connection.executeQuery<R>(query)),
        streamQuery: (query, chunkSize) => connection.streamQuery(query, chunkSize),
      };
      inner.set(wrapped, connection);
      return wrapped;
    },
    releaseConnection: (connection) => driver.releaseConnection(unwrap(connection)),
    beginTransaction: (connection, settings) => guarded(() => driver.beginTransaction(unwrap(connection), settings)),
    commitTransaction: (connection) => guarded(() => driver.commitTransaction(unwrap(connection))),
    rollbackTransaction: (connection) => driver.rollbackTransaction(unwrap(connection)),
    savepoint: driver.savepoint && ((connection, name, compile) => guarded(() => driver.savepoint!(unwrap(connection), name, compile))),
    rollbackToSavepoint: driver.rollbackToSavepoint && ((connection, name, compile) => driver.rollbackToSavepoint!(unwrap(connection), name, compile)),
    releaseSavepoint: driver.releaseSavepoint && ((connection, name, compile) => guarded(() => driver.releaseSavepoint!(unwrap(connection), name, compile))),
  };
}
