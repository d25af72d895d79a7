import { AUTO_ADVERTISE_ADDRESS } from '@switchyard/runtime';
import { composeServiceEnvironments } from '@switchyard/testing';

export const APPS = ['registry', 'user', 'order', 'gateway'] as const;
export type App = (typeof APPS)[number];

/** The `environment:` docker-compose.yml gives each app, as composeServiceEnvironments reads it. */
export function readComposeEnvironment(workspaceRoot: string): Record<App, Record<string, string>> {
  const services = composeServiceEnvironments(workspaceRoot);
  const result = {} as Record<App, Record<string, string>>;
  for (const app of APPS) {
    const environment = services[app];
    if (!environment) throw new Error(`docker-compose.yml has no service "${app}"`);
    result[app] = environment;
  }
  return result;
}

/**
 * The variables the stack sets for each app itself, whatever the compose file or the caller's
 * environment say: where the app listens, how it reaches the others, its database, the event
 * broker, the trace collector, its data directory and the registry token's file (unset: the stack gives every app
 * REGISTRY_TOKEN). Compose's values address containers on one network, and one value from the
 * caller would give all four apps the same port, so neither is used as is. Every other variable
 * comes from the caller's environment, else from the compose file.
 */
export const STACK_OWNED_VARIABLES = [
  'GRPC_PORT',
  'HTTP_PORT',
  'METRICS_PORT',
  'ADVERTISE_ADDRESS',
  'REGISTRY_ADDRESS',
  'DATABASE_URL',
  // Compose's `nats` is the stack's broker; a stack without one runs with events off, never
  // against whatever broker answers on this machine's 4222.
  'EVENTS_URL',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'DATA_DIR',
  // Compose shares the token through a file in a volume; the stack passes REGISTRY_TOKEN instead.
  'REGISTRY_TOKEN_FILE',
] as const;

export interface StackAddressing {
  /** gRPC port of each app on this machine. */
  ports: Record<App, number>;
  /** The gateway's HTTP/JSON port. */
  httpPort: number;
  /** The registry's dashboard port (its HTTP_PORT). */
  dashboardPort: number;
  /**
   * The host that names an app in another app's addresses: `127.0.0.1` for `npm start`, or the
   * compose service name itself for the tests, which resolve those names to 127.0.0.1.
   */
  hostOf: (app: App) => string;
  /** Replace compose's `postgres`, `nats` and `jaeger` URLs; undefined leaves the variable unset (SQLite, events off, no export). */
  databaseUrl: string | undefined;
  eventsUrl: string | undefined;
  otlpEndpoint: string | undefined;
  dataDir: string;
  /**
   * Compose's ADVERTISE_ADDRESS=auto kept as is (the tests: each app finds its own address, as in
   * a container), or replaced by `hostOf(app):<port>` (npm start: 127.0.0.1, see main.ts; the
   * tests on a machine where auto finds no address: the compose name).
   */
  keepAutoAdvertise: boolean;
}

/** The value of each of STACK_OWNED_VARIABLES for `app`; those compose does not set stay unset, except GRPC_PORT, DATA_DIR and the gateway's HTTP_PORT. The registry's HTTP_PORT (its dashboard) is this stack's when compose sets one. */
export function stackOwnedVariables(composeEnv: Record<string, string>, app: App, addressing: StackAddressing): Record<string, string> {
  const owned: Record<string, string> = { GRPC_PORT: String(addressing.ports[app]), DATA_DIR: addressing.dataDir };
  if (app === 'gateway') owned.HTTP_PORT = String(addressing.httpPort);
  if (app === 'registry' && composeEnv.HTTP_PORT !== undefined) owned.HTTP_PORT = String(addressing.dashboardPort);
  // Compose writes each as `<service>:<port>`; the service stays, its host and port become this stack's.
  for (const key of ['ADVERTISE_ADDRESS', 'REGISTRY_ADDRESS'] as const) {
    if (key === 'ADVERTISE_ADDRESS' && composeEnv[key] === AUTO_ADVERTISE_ADDRESS) {
      owned[key] = addressing.keepAutoAdvertise ? AUTO_ADVERTISE_ADDRESS : `${addressing.hostOf(app)}:${addressing.ports[app]}`;
      continue;
    }
    const service = composeEnv[key]?.split(':')[0];
    if (service === undefined) continue;
    if (!(APPS as readonly string[]).includes(service)) throw new Error(`docker-compose.yml: ${app}'s ${key} names no app: ${composeEnv[key]}`);
    owned[key] = `${addressing.hostOf(service as App)}:${addressing.ports[service as App]}`;
  }
  // Compose's fixed metrics ports would collide between stacks and with `npm start`: any free one.
  if (composeEnv.METRICS_PORT !== undefined) owned.METRICS_PORT = '0';
  if (composeEnv.DATABASE_URL !== undefined && addressing.databaseUrl) owned.DATABASE_URL = addressing.databaseUrl;
  if (composeEnv.EVENTS_URL !== undefined && addressing.eventsUrl) owned.EVENTS_URL = addressing.eventsUrl;
  if (composeEnv.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined && addressing.otlpEndpoint) owned.OTEL_EXPORTER_OTLP_ENDPOINT = addressing.otlpEndpoint;
  return owned;
}

/**
 * One app's environment, lowest precedence first: the compose file, the stack's defaults (e.g.
 * LOG_FORMAT=pretty), the caller's environment (as docker compose lets the shell and .env win),
 * then the stack-owned variables. Unset values in `caller` are skipped.
 */
export function appEnvironment(parts: {
  compose: Record<string, string>;
  defaults: Record<string, string>;
  caller: Record<string, string | undefined>;
  owned: Record<string, string>;
}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const layer of [parts.compose, parts.defaults, parts.caller]) {
    for (const [key, value] of Object.entries(layer)) {
      if (value !== undefined && !(STACK_OWNED_VARIABLES as readonly string[]).includes(key)) env[key] = value;
    }
  }
  return { ...env, ...parts.owned };
}
