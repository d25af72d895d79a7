import type { Logger, TlsFiles } from '@switchyard/runtime';
import type { ReadAccess, RegistryAccess } from '../registry-access';
import type { RegistryStore } from '../registry-store';
import { announceRegistrations } from './announce-registrations';
import { DashboardSessions } from './dashboard-sessions';
import { startDashboardServer } from './dashboard-server';
import { FleetFeed } from './fleet-feed';

export interface RegistryDashboardOptions {
  store: RegistryStore;
  host: string;
  port: number;
  /** REGISTRY_READ_ACCESS as the registry applies it (its default resolved). */
  readAccess: ReadAccess;
  /** The registry's token rules, which decide the sign-in in token mode. */
  tokenRules: RegistryAccess;
  tls?: TlsFiles;
  logger: Logger;
}

export interface RegistryDashboard {
  /** The store to serve gRPC from: registrations through it reach the dashboard at once. */
  readonly store: RegistryStore;
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the dashboard (HTTP_PORT) over `store`; the registry then serves from the returned store. */
export async function startRegistryDashboard(options: RegistryDashboardOptions): Promise<RegistryDashboard> {
  const feed = new FleetFeed({ store: options.store, onError: (error) => options.logger.warn({ err: error }, 'dashboard could not read the store') });
  try {
    const server = await startDashboardServer({
      feed,
      host: options.host,
      port: options.port,
      readAccess: options.readAccess,
      sessions: options.readAccess === 'token' ? new DashboardSessions({ access: options.tokenRules }) : undefined,
      tls: options.tls,
      logger: options.logger,
    });
    options.logger.info({ url: server.url, read_access: options.readAccess }, `registry dashboard at ${server.url}`);
    return {
      store: announceRegistrations(options.store, (serviceName) => feed.notice(serviceName)),
      url: server.url,
      close: async () => {
        feed.stop();
        await server.close();
      },
    };
  } catch (error) {
    feed.stop();
    throw error;
  }
}
