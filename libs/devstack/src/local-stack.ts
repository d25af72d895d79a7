import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { AppProcess } from './app-process';
import { APPS, appEnvironment, readComposeEnvironment, stackOwnedVariables, type App } from './compose-environment';
import { AUTO_ADVERTISE_ADDRESS, detectAdvertiseHost } from '@switchyard/runtime';
import { freePort } from '@switchyard/testing';
import { PortReservations } from './port-reservations';

export interface LocalStackOptions {
  workspaceRoot: string;
  /** Fixed ports (npm start uses the defaults); unset ones are picked free. */
  ports?: Partial<Record<App, number>>;
  /**
   * Instances of each app (npm start's --replicas); 1 where unset. The first keeps the app's port
   * in `ports`, the others get free ones; all share DATA_DIR, so user's replicas share one SQLite
   * database (WAL mode, a busy timeout), as they share PostgreSQL under DATABASE_URL.
   */
  replicas?: Partial<Record<App, number>>;
  /** The gateway's HTTP/JSON port (npm start: its default, 8080); unset picks a free one. */
  httpPort?: number;
  /** The registry's dashboard port (npm start: 8051); unset picks a free one. */
  dashboardPort?: number;
  /** PostgreSQL URL for user and order; unset means SQLite files under DATA_DIR. */
  databaseUrl?: string;
  /** NATS (JetStream) URL for user's and order's events, one server; unset means events off. */
  eventsUrl?: string;
  /** OTLP/gRPC endpoint for traces; unset means no export. */
  otlpEndpoint?: string;
  dataDir: string;
  /** Variables every app gets over the compose file's (e.g. LOG_FORMAT); `callerEnv` wins over them. */
  extraEnv?: Record<string, string>;
  /**
   * The fleet's registry token, given to every app as REGISTRY_TOKEN unless `callerEnv` sets one.
   * Default: a new random one per stack, so nothing outside the stack can register or read.
   */
  registryToken?: string;
  /**
   * The caller's environment, passed to every app over the compose file's variables (except
   * STACK_OWNED_VARIABLES). Default: PATH alone, so tests run the apps with compose's variables.
   */
  callerEnv?: Record<string, string | undefined>;
  /** Each line an app writes, with the name of its instance (`user`, then `user-2` ...). */
  onLine?: (name: string, line: string) => void;
  /** Each app in its own process group (see AppProcessOptions.ownProcessGroup). */
  ownProcessGroups?: boolean;
  /**
   * How the apps name each other, their database and the trace collector. `compose` (default,
   * for the tests): docker-compose.yml's service names as written (`registry:<port>`), which
   * the compose-hosts preload resolves to this machine, so the tests run the addresses compose
   * runs. `loopback` (npm start): 127.0.0.1 (see main.ts for why).
   */
  hostNames?: 'compose' | 'loopback';
}

/** `url` with its host replaced by a compose service name, and the host that name stands for. */
function asComposeHost(url: string, service: string): { url: string; host: string } {
  const parsed = new URL(url);
  const host = parsed.hostname;
  parsed.hostname = service;
  return { url: parsed.toString(), host };
}

/**
 * This machine's address as ADVERTISE_ADDRESS=auto finds it. A machine with none (no network
 * but loopback) would stop every app that uses auto: those then advertise their compose names
 * (`user:<port>`, resolved by the compose-hosts preload), and the run says so.
 */
async function autoHostOrNone(): Promise<string | undefined> {
  try {
    return (await detectAdvertiseHost()).host;
  } catch (error) {
    process.stderr.write(`LocalStack: ${(error as Error).message.split('\n').slice(1).join(' ').trim()}\nLocalStack: the apps compose runs with ADVERTISE_ADDRESS=auto advertise their compose names instead.\n`);
    return undefined;
  }
}

/** The order of the start: each step waits for the one before to be SERVING. */
const START_STEPS: App[][] = [['registry'], ['user', 'order'], ['gateway']];
/** The order of the stop, so each app deregisters while the registry is still up. */
const STOP_ORDER: App[] = ['gateway', 'order', 'user', 'registry'];

/** Thrown by a start that `stop()` cut short. */
export class StackStoppedError extends Error {
  constructor() {
    super('stopped while starting');
  }
}

/**
 * The four built apps as local processes, with the environment docker-compose.yml gives them,
 * on this machine's ports. Used by `npm start` and by the end-to-end tests. `stop()` may come at
 * any time, also while the apps are still starting: it stops every app started so far and no
 * further one starts.
 */
export class LocalStack {
  readonly processes: AppProcess[] = [];
  /** The REGISTRY_TOKEN every app of this stack has. */
  readonly registryToken: string;
  private stopping: Promise<void> | undefined;
  /** What each instance was started with, so a restart starts the same instance again. */
  private readonly overridesOf = new WeakMap<AppProcess, Record<string, string>>();

  private constructor(
    private readonly options: LocalStackOptions,
    readonly ports: Record<App, number>,
    /** Every replica's port by app, `ports[app]` first. */
    readonly replicaPorts: Record<App, number[]>,
    readonly httpPort: number,
    readonly dashboardPort: number,
    /** This machine's address as ADVERTISE_ADDRESS=auto finds it, when an app of the stack uses auto. */
    private readonly autoHost: string | undefined,
    private readonly composeEnv: Record<App, Record<string, string>>,
    private readonly reservations: PortReservations,
  ) {
    this.registryToken = options.callerEnv?.REGISTRY_TOKEN || options.registryToken || randomBytes(32).toString('base64url');
  }

  /** Picks and holds every app's port; starts nothing yet. */
  static async prepare(options: LocalStackOptions): Promise<LocalStack> {
    const composeEnv = readComposeEnvironment(options.workspaceRoot);
    const usesAuto = options.hostNames !== 'loopback' && APPS.some((app) => composeEnv[app].ADVERTISE_ADDRESS === AUTO_ADVERTISE_ADDRESS);
    const autoHost = usesAuto ? await autoHostOrNone() : undefined;
    for (let attempt = 1; ; attempt += 1) {
      // Ports freePort() picked, as opposed to ones the caller asked for.
      const picked = new Set<number>();
      const pick = async (asked: number | undefined) => {
        if (asked !== undefined) return asked;
        const port = await freePort();
        picked.add(port);
        return port;
      };
      const ports = {} as Record<App, number>;
      const replicaPorts = {} as Record<App, number[]>;
      for (const app of APPS) {
        ports[app] = await pick(options.ports?.[app]);
        replicaPorts[app] = [ports[app]];
        for (let i = 1; i < (options.replicas?.[app] ?? 1); i += 1) replicaPorts[app].push(await pick(undefined));
      }
      const httpPort = await pick(options.httpPort);
      const dashboardPort = await pick(options.dashboardPort);
      try {
        const reservations = await PortReservations.hold([...APPS.flatMap((app) => replicaPorts[app]), httpPort, dashboardPort]);
        return new LocalStack(options, ports, replicaPorts, httpPort, dashboardPort, autoHost, composeEnv, reservations);
      } catch (error) {
        // A port freePort() found free can be taken by another process's connection before it is
        // held (the kernel hands out the same ephemeral range): pick again. A port the caller
        // asked for that is taken is the caller's to hear about.
        const { code, port } = error as { code?: string; port?: number };
        if (code !== 'EADDRINUSE' || port === undefined || !picked.has(port) || attempt >= 5) throw error;
      }
    }
  }

  /** prepare() and startAll(); on failure every app started so far is stopped. */
  static async start(options: LocalStackOptions): Promise<LocalStack> {
    const stack = await LocalStack.prepare(options);
    try {
      await stack.startAll();
    } catch (error) {
      await stack.stop();
      throw error;
    }
    return stack;
  }

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** Starts every app in order, each once the ones it needs are SERVING, with its replicas. */
  async startAll(): Promise<void> {
    try {
      for (const step of START_STEPS) await Promise.all(step.map((app) => this.startReplicas(app)));
    } finally {
      await this.reservations.releaseAll();
    }
  }

  // One after another: the first creates the database schema, the others find it done (two
  // instances migrating one SQLite file at once would race).
  private async startReplicas(app: App): Promise<void> {
    for (const port of this.replicaPorts[app]) await this.startApp(app, port === this.ports[app] ? {} : { GRPC_PORT: String(port) });
  }

  /** Where this process dials an app (its first replica). */
  address(app: App): string {
    return `127.0.0.1:${this.ports[app]}`;
  }

  /**
   * What the other apps and the registry know an app by: `user:<port>`, this machine's address
   * for ADVERTISE_ADDRESS=auto, or 127.0.0.1 under `loopback`.
   */
  advertisedAddress(app: App, port = this.ports[app]): string {
    if (this.autoHost !== undefined && this.composeEnv[app].ADVERTISE_ADDRESS === AUTO_ADVERTISE_ADDRESS) return `${this.autoHost}:${port}`;
    return `${this.hostOf(app)}:${port}`;
  }

  /** What the output calls an instance: the app for its first replica, `user-2` and on for the others. */
  instanceName(app: App, port: number): string {
    const index = this.replicaPorts[app].indexOf(port);
    return index > 0 ? `${app}-${index + 1}` : app;
  }

  private hostOf(app: App): string {
    return this.options.hostNames === 'loopback' ? '127.0.0.1' : app;
  }

  /** The environment an app gets (see appEnvironment), with `overrides` over all of it. */
  environmentFor(app: App, overrides: Record<string, string> = {}): Record<string, string> {
    const compose = this.options.hostNames !== 'loopback';
    const { databaseUrl, eventsUrl, otlpEndpoint } = this.options;
    const database = compose && databaseUrl ? asComposeHost(databaseUrl, 'postgres') : undefined;
    const events = compose && eventsUrl ? asComposeHost(eventsUrl, 'nats') : undefined;
    const otlp = compose && otlpEndpoint ? asComposeHost(otlpEndpoint, 'jaeger') : undefined;
    // An instance on a port of its own advertises that port.
    const ports = overrides.GRPC_PORT === undefined ? this.ports : { ...this.ports, [app]: Number(overrides.GRPC_PORT) };
    const owned = stackOwnedVariables(this.composeEnv[app], app, {
      ports,
      httpPort: this.httpPort,
      dashboardPort: this.dashboardPort,
      hostOf: (other) => this.hostOf(other),
      databaseUrl: database?.url ?? databaseUrl,
      eventsUrl: events?.url ?? eventsUrl,
      otlpEndpoint: otlp?.url ?? otlpEndpoint,
      dataDir: this.options.dataDir,
      keepAutoAdvertise: this.autoHost !== undefined,
    });
    const env = appEnvironment({
      compose: this.composeEnv[app],
      defaults: { REGISTRY_TOKEN: this.registryToken, ...this.options.extraEnv },
      caller: this.options.callerEnv ?? { PATH: process.env.PATH },
      owned,
    });
    if (compose) {
      const hosts = [...APPS.map((name) => `${name}=127.0.0.1`), database && `postgres=${database.host}`, events && `nats=${events.host}`, otlp && `jaeger=${otlp.host}`];
      env.SWITCHYARD_COMPOSE_HOSTS = hosts.filter(Boolean).join(',');
      const preload = join(this.options.workspaceRoot, 'dist', 'libs', 'devstack', 'compose-hosts.js');
      env.NODE_OPTIONS = [env.NODE_OPTIONS, `--require "${preload}"`].filter(Boolean).join(' ');
    }
    // An extra gateway or registry (its own GRPC_PORT) takes a free HTTP port (the gateway's
    // HTTP/JSON face, the registry's dashboard), not the first one's.
    const extra = overrides.GRPC_PORT !== undefined && overrides.GRPC_PORT !== String(this.ports[app]);
    const ownHttpPort = extra && (app === 'gateway' || (app === 'registry' && env.HTTP_PORT !== undefined));
    return { ...env, ...(ownHttpPort ? { HTTP_PORT: '0' } : {}), ...overrides };
  }

  /**
   * Starts one instance of an app and waits until it is SERVING. Extra instances (a second user)
   * pass their own GRPC_PORT in `overrides`; it advertises that port.
   */
  async startApp(app: App, overrides: Record<string, string> = {}): Promise<AppProcess> {
    const env = this.environmentFor(app, overrides);
    await this.reservations.release(Number(env.GRPC_PORT));
    if (env.HTTP_PORT) await this.reservations.release(Number(env.HTTP_PORT));
    if (this.stopping) throw new StackStoppedError();
    const name = this.instanceName(app, Number(env.GRPC_PORT));
    const process = new AppProcess({
      workspaceRoot: this.options.workspaceRoot,
      app,
      name,
      env,
      onLine: (line) => this.options.onLine?.(name, line),
      ownProcessGroup: this.options.ownProcessGroups,
    });
    this.processes.push(process);
    this.overridesOf.set(process, overrides);
    try {
      await process.waitUntilServing(`127.0.0.1:${env.GRPC_PORT}`);
    } catch (error) {
      if (this.stopping) throw new StackStoppedError();
      // Not SERVING in time: a stuck instance would hold the port the next try needs.
      await process.stop('SIGTERM');
      throw error;
    }
    return process;
  }

  /** Starts an instance that exited again, as it was started (same port and overrides). */
  restart(process: AppProcess): Promise<AppProcess> {
    return this.startApp(process.options.app as App, this.overridesOf.get(process));
  }

  /** SIGTERM to every app, gateway first, registry last, so each deregisters while the registry is up. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const app of STOP_ORDER) {
        await Promise.all(this.processes.filter((p) => p.options.app === app).map((p) => p.stop('SIGTERM')));
      }
      await this.reservations.releaseAll();
    })();
    return this.stopping;
  }
}
