import { DeadlineExceededError, UnavailableError } from '@switchyard/runtime';
import type { DatabaseConnection, Dialect, Driver, QueryResult } from 'kysely';
import { withWrappedDriver } from './driver-wrapping';

// PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout (query_canceled).
const POSTGRES_QUERY_CANCELED = '57014';
// SQLSTATE classes 08 (connection exception) and 57P (the server shutting down, restarting, or
// terminating this backend), and the socket errors of a server that went away.
const CONNECTION_SQLSTATE = /^(08|57P0)/;
const CONNECTION_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);
// pg and pg-pool say these in words only: the pool waited too long for a connection, or the
// connection ended under a query.
const CONNECTION_MESSAGE = /timeout exceeded when trying to connect|Connection terminated|connection timeout/i;

/** True when `error` is PostgreSQL cancelling a statement that ran past statement_timeout. */
export function isStatementTimeout(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === POSTGRES_QUERY_CANCELED;
}

/** True when `error` says the database could not be reached, or the connection broke under the statement. */
export function isConnectionFailure(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (CONNECTION_SQLSTATE.test(code) || CONNECTION_ERRNO.has(code))) return true;
  return typeof message === 'string' && CONNECTION_MESSAGE.test(message);
}

/**
 * `error` as the status its caller should see, else itself:
 * - a statement cancelled at its statement_timeout: DeadlineExceededError (DEADLINE_EXCEEDED, not
 *   retried by default, so a database that is already slow is not sent the work again);
 * - no connection to be had, or one that broke: UnavailableError (UNAVAILABLE, which clients retry
 *   where the method is safe to repeat), not an unknown error (INTERNAL).
 */
export function translateDatabaseError(error: unknown, statementTimeoutMs: number): unknown {
  if (isStatementTimeout(error)) {
    return new DeadlineExceededError(`a database statement ran past ${statementTimeoutMs} ms (DATABASE_STATEMENT_TIMEOUT_MS) and was cancelled`, { cause: error });
  }
  if (isConnectionFailure(error)) return new UnavailableError('the database is unavailable; try again', { cause: error });
  return error;
}

/** `dialect`, with errors translated by translateDatabaseError, getting a connection included. */
export function withDatabaseErrors(dialect: Dialect, statementTimeoutMs: number): Dialect {
  const translate = (error: unknown) => translateDatabaseError(error, statementTimeoutMs);
  const guarded = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw translate(error);
    }
  };
  return withWrappedDriver(dialect, (driver) => translatingDriver(driver, guarded));
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
      const connection = await guarded(() => driver.acquireConnection());
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
