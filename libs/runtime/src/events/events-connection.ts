import { connect, type NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { redactUrl } from './events-url';

const CLOSE_TIMEOUT_MS = 2000;

export interface EventsConnectionOptions {
  /** EVENTS_URL: `nats://host:port`, several separated by commas. */
  url: string;
  /** Shown by the server for this connection, e.g. the app's name. */
  name: string;
  logger: Logger;
  /** Between attempts at the first connection. Default 1000. */
  retryDelayMs?: number;
}

/** The app's connection to the event broker, made in the background. */
export interface EventsConnection {
  /** Resolves once connected; waits as long as the broker is unreachable. Rejects once closed. */
  ready(): Promise<NatsConnection>;
  close(): Promise<void>;
}

/**
 * Connects to NATS in the background, so an app whose broker is down still starts and serves:
 * events wait in the outbox (or in the stream) until it is back. Once connected, the client
 * reconnects by itself, forever. Pings every 2 s find a broker that stopped answering (a paused
 * process, a dead host) in a few seconds instead of the TCP timeout.
 */
export function connectEvents(options: EventsConnectionOptions): EventsConnection {
  const { url, name, logger, retryDelayMs = 1000 } = options;
  const servers = url.split(',').map((server) => server.trim());
  let closed = false;
  let connection: NatsConnection | undefined;
  let wakeRetry: (() => void) | undefined;

  const ready = (async (): Promise<NatsConnection> => {
    for (let attempt = 1; ; attempt++) {
      if (closed) throw new Error('the events connection was closed');
      try {
        connection = await connect({ servers, name, maxReconnectAttempts: -1, reconnectTimeWait: 500, pingInterval: 2000, maxPingOut: 2, timeout: 2000 });
        logger.info({ url: redactUrl(url), server: connection.getServer() }, 'events broker connected');
        void watchStatus(connection, logger);
        if (closed) await connection.close();
        return connection;
      } catch (error) {
        // Every attempt at debug, and a warning now and then so a long outage stays visible.
        const level = attempt === 1 || attempt % 30 === 0 ? 'warn' : 'debug';
        logger[level]({ url: redactUrl(url), attempt, err: (error as Error).message }, 'events broker unreachable; events wait until it answers');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, retryDelayMs);
          wakeRetry = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  })();
  // Callers that never asked must not see an unhandled rejection on close.
  ready.catch(() => undefined);

  return {
    ready: () => ready,
    async close() {
      closed = true;
      wakeRetry?.();
      if (!connection || connection.isClosed()) return;
      // Drain lets acknowledgements in flight out; a broker that does not answer cannot hold up the stop.
      const drained = connection.drain().catch(() => undefined);
      const timedOut = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), CLOSE_TIMEOUT_MS).unref());
      if ((await Promise.race([drained, timedOut])) === 'timeout') await connection.close().catch(() => undefined);
    },
  };
}

async function watchStatus(connection: NatsConnection, logger: Logger): Promise<void> {
  for await (const status of connection.status()) {
    if (status.type === 'disconnect') logger.warn({ server: status.data }, 'events broker connection lost; reconnecting');
    else if (status.type === 'reconnect') logger.info({ server: status.data }, 'events broker reconnected');
  }
}
