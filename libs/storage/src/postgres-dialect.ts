import { PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import { namedStatements, withNamedStatements } from './postgres-named-statements';
import { openPostgresPipeline } from './postgres-pipeline';

const INT8_OID = 20;
const CONNECT_TIMEOUT_MS = 5000;

// int8 (bigint, count(*)) comes back from pg as a string by default; SQLite gives numbers. Parsing
// it here keeps repositories engine-neutral. Values past 2^53 would lose digits, so they fail loudly.
function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`bigint ${text} does not fit a JavaScript number`);
  return value;
}

const typeParsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

// Query parameters pg reads that hold a secret, or name a file that does (sslkey).
const SECRET_PARAMETERS = new Set(['password', 'sslpassword', 'sslkey']);
const MASK = '***';

/**
 * The URL with every secret masked (the userinfo password and the `password`, `sslpassword` and
 * `sslkey` parameters), for error messages and logs. A URL that does not parse is hidden whole:
 * nothing says where in it a password would be.
 */
export function redactDatabaseUrl(databaseUrl: string): string {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    return '(hidden: not a valid URL)';
  }
  if (url.password) url.password = MASK;
  for (const name of [...url.searchParams.keys()]) {
    if (SECRET_PARAMETERS.has(name.toLowerCase())) url.searchParams.set(name, MASK);
  }
  return url.toString();
}

/**
 * A pg pool for `databaseUrl`; connections are made lazily, `openDatabase` checks the first one.
 * The server cancels any statement running past `statementTimeoutMs`, so a slow or hostile query
 * cannot hold a connection (and the pool) long after its caller stopped waiting. Queries run as
 * named prepared statements, planned once per connection. `direct` runs a statement the same way,
 * without Kysely's executor and driver layers in between, pipelined on a connection of its own
 * beside the pool (postgres-pipeline.ts), or on the pool when the pipeline cannot take it.
 */
export function openPostgresDialect(
  serviceName: string,
  databaseUrl: string,
  logger: Logger,
  statementTimeoutMs: number,
): { dialect: PostgresDialect; pool: pg.Pool; direct: (sql: string, parameters: readonly unknown[]) => Promise<unknown[]> } {
  const config: pg.ClientConfig = {
    connectionString: databaseUrl,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: statementTimeoutMs,
    application_name: serviceName,
    types: typeParsers,
  };
  const pool = new pg.Pool(config);
  // Without a listener, an idle client's error (e.g. the server restarting) would crash the process.
  pool.on('error', (error) => logger.error({ err: error }, 'idle PostgreSQL connection failed'));
  // The pool listens for errors only on idle connections: one that breaks under a statement (a
  // server restart, a terminated backend) would emit an unhandled 'error' and end the process.
  // The statement itself fails, as UNAVAILABLE (database-error-dialect.ts).
  pool.on('connect', (client) => client.on('error', (error) => logger.warn({ err: error }, 'PostgreSQL connection failed under a statement')));
  const run = namedStatements();
  const pipeline = openPostgresPipeline(config, run, (error) => logger.error({ err: error }, 'pipelined PostgreSQL connection failed'));
  const direct = async (sql: string, parameters: readonly unknown[]): Promise<unknown[]> => {
    const piped = pipeline.run(sql, parameters);
    if (piped) return (await piped).rows;
    const client = await pool.connect();
    try {
      return (await run(client, sql, parameters)).rows;
    } finally {
      client.release();
    }
  };
  const pooled = withNamedStatements(pool, undefined, run);
  const end = async () => {
    await pipeline.close();
    await pooled.end();
  };
  return { dialect: new PostgresDialect({ pool: { connect: pooled.connect, end } }), pool, direct };
}
