import type { Socket } from 'node:net';
import pg from 'pg';
import type { NamedStatementRunner } from './postgres-named-statements';

/** A statement in the pipeline this long sends new ones to the pool: one slow statement must not hold up the calls behind it for long. */
export const PIPELINE_STALL_MS = 20;
/** Statements in the pipeline at most; the next go to the pool. */
export const PIPELINE_DEPTH = 64;
/** After a failed connect, statements go to the pool this long before the pipeline connects again. */
const RECONNECT_DELAY_MS = 1000;

/** When the pipeline stops taking statements; the defaults are `PIPELINE_STALL_MS` and `PIPELINE_DEPTH`. */
export interface PipelineLimits {
  stallMs?: number;
  depth?: number;
}

/** Statements sent on one connection without waiting for each other's answers. */
export interface PostgresPipeline {
  /** Runs the statement in the pipeline, or answers undefined when it cannot take it now (run it on the pool). */
  run(text: string, values: readonly unknown[]): Promise<pg.QueryResult> | undefined;
  /** Ends the connection once its statements are answered. */
  close(): Promise<void>;
}

interface Connection {
  client: pg.Client;
  socket: Socket;
  /** When each statement in flight was sent, oldest first (answers come in order). */
  sent: number[];
  corked: boolean;
}

/**
 * One connection, apart from the pool, on which concurrent statements are pipelined: each is sent
 * without waiting for the one before, and the statements started in one tick of the event loop go
 * in one write. A pooled connection costs a write and a read (two system calls, and on loopback the
 * kernel's delivery to the server) per statement; here one write carries many, and their answers
 * often arrive in one read. Each statement still ends in its own Sync, so one that fails (a unique
 * violation, a timeout) fails alone.
 *
 * The server runs a connection's statements one after another, so a slow one holds up those sent
 * after it: while the oldest in flight has run `PIPELINE_STALL_MS`, or `PIPELINE_DEPTH` are in
 * flight, `run` answers undefined and the caller uses the pool. It does too while connecting and
 * for a while after a failed connect. When the connection fails, its statements fail with it (as on a
 * pooled connection), and the next statement connects again.
 */
export function openPostgresPipeline(
  config: pg.ClientConfig,
  runNamed: NamedStatementRunner,
  onError: (error: Error) => void,
  { stallMs = PIPELINE_STALL_MS, depth = PIPELINE_DEPTH }: PipelineLimits = {},
): PostgresPipeline {
  let connection: Connection | undefined;
  let connecting: Promise<void> | undefined;
  let retryAt = 0;
  let closed = false;

  const connect = () => {
    const client = new pg.Client({ ...config, pipeline: true } as pg.ClientConfig);
    const drop = () => {
      if (connection?.client === client) connection = undefined;
    };
    client.on('error', (error) => {
      drop();
      onError(error);
    });
    client.on('end', drop);
    connecting = client
      .connect()
      .then(
        () => {
          // pg keeps its socket as connection.stream; corking it is how the statements of a tick share a write.
          const socket = (client as unknown as { connection: { stream: Socket } }).connection.stream;
          if (closed) return void client.end();
          connection = { client, socket, sent: [], corked: false };
        },
        (error: Error) => {
          retryAt = performance.now() + RECONNECT_DELAY_MS;
          onError(error);
        },
      )
      .finally(() => {
        connecting = undefined;
      });
  };

  const send = async (current: Connection, text: string, values: readonly unknown[], now: number) => {
    current.sent.push(now);
    try {
      return await runNamed(current.client as unknown as pg.PoolClient, text, values);
    } finally {
      current.sent.shift();
    }
  };

  return {
    run(text, values) {
      const current = connection;
      const now = performance.now();
      if (!current) {
        if (!connecting && !closed && now >= retryAt) connect();
        return undefined;
      }
      const { sent } = current;
      if (sent.length >= depth || (sent.length > 0 && now - sent[0]! >= stallMs)) return undefined;
      if (!current.corked) {
        current.corked = true;
        current.socket.cork();
        process.nextTick(() => {
          current.corked = false;
          current.socket.uncork();
        });
      }
      return send(current, text, values, now);
    },
    async close() {
      closed = true;
      await connecting;
      const current = connection;
      connection = undefined;
      await current?.client.end();
    },
  };
}
