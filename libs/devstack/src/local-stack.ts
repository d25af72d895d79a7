import { AppProcess } from './app-process';
import { APPS, localizeEnvironment, readComposeEnvironment, type App } from './compose-environment';
import { freePort } from '@switchyard/testing';
import { PortReservations } from './port-reservations';

export interface LocalStackOptions {
  workspaceRoot: string;
  /** Fixed ports (npm start uses the defaults); unset ones are picked free. */
  ports?: Partial<Record<App, number>>;
  /** PostgreSQL URL for user and order; unset means SQLite files under DATA_DIR. */
  databaseUrl?: string;
  /** OTLP/gRPC endpoint for traces; unset means no export. */
  otlpEndpoint?: string;
  dataDir: string;
  /** Variables added to or overriding every app's environment (e.g. LOG_FORMAT). */
  extraEnv?: Record<string, string>;
  onLine?: (app: string, line: string) => void;
  /** Each app in its own process group (see AppProcessOptions.ownProcessGroup). */
  ownProcessGroups?: boolean;
}

/**
 * The four built apps as local processes, with the environment docker-compose.yml gives them,
 * mapped onto 127.0.0.1. Used by `npm start` and by the end-to-end tests.
 */
export class LocalStack {
  readonly processes: AppProcess[] = [];
  private constructor(
    private readonly options: LocalStackOptions,
    readonly ports: Record<App, number>,
    private readonly composeEnv: Record<App, Record<string, string>>,
    private readonly reservations: PortReservations,
  ) {}

  static async start(options: LocalStackOptions): Promise<LocalStack> {
    const ports = {} as Record<App, number>;
    for (const app of APPS) ports[app] = options.ports?.[app] ?? (await freePort());
    const reservations = await PortReservations.hold(Object.values(ports));
    const stack = new LocalStack(options, ports, readComposeEnvironment(options.workspaceRoot), reservations);
    try {
      await stack.startApp('registry');
      await Promise.all([stack.startApp('user'), stack.startApp('order')]);
      await stack.startApp('gateway');
    } catch (error) {
      await stack.stop();
      throw error;
    } finally {
      await reservations.releaseAll();
    }
    return stack;
  }

  address(app: App): string {
    return `127.0.0.1:${this.ports[app]}`;
  }

  /** The environment an app gets: compose's, localized, plus extraEnv and `overrides`. */
  environmentFor(app: App, overrides: Record<string, string> = {}): Record<string, string> {
    const env = localizeEnvironment(this.composeEnv[app], app, {
      ports: this.ports,
      databaseUrl: this.options.databaseUrl,
      otlpEndpoint: this.options.otlpEndpoint,
    });
    return { ...env, DATA_DIR: this.options.dataDir, ...this.options.extraEnv, ...overrides };
  }

  /**
   * Starts one instance of an app and waits until it is SERVING. Extra instances (a second user)
   * pass their own GRPC_PORT and ADVERTISE_ADDRESS in `overrides`.
   */
  async startApp(app: App, overrides: Record<string, string> = {}): Promise<AppProcess> {
    const env = this.environmentFor(app, overrides);
    await this.reservations.release(Number(env.GRPC_PORT));
    const process = new AppProcess({
      workspaceRoot: this.options.workspaceRoot,
      app,
      env,
      onLine: (line) => this.options.onLine?.(app, line),
      ownProcessGroup: this.options.ownProcessGroups,
    });
    this.processes.push(process);
    await process.waitUntilServing(`127.0.0.1:${env.GRPC_PORT}`);
    return process;
  }

  /** SIGTERM to every app, gateway first, registry last, so each deregisters while the registry is up. */
  async stop(): Promise<void> {
    const order: App[] = ['gateway', 'order', 'user', 'registry'];
    for (const app of order) {
      await Promise.all(this.processes.filter((p) => p.options.app === app).map((p) => p.stop('SIGTERM')));
    }
  }
}
