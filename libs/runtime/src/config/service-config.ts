import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, dialAddressListVariable, millisecondsVariable, parseEnv, portVariable, secretVariable } from './env-config';
import { parseRetryPolicy, type RetryPolicyConfig } from '../client/retry-policy-config';
import { faultsVariable, type FaultRule } from './fault-injection-config';
import { loadRoutingRulesSetting, type RoutingRulesSetting } from './routing-rules-config';
import { loadTlsConfig, type TlsFiles } from './tls-config';
import { loadServerLimits, type ServerLimits } from './server-limits-config';
import { advertiseAddressVariable } from './advertise-address';
import { eventsUrlVariable } from './events-url-config';

/** Default gRPC port of each app: several instances of one app need GRPC_PORT set apart. */
export const DEFAULT_PORTS = { gateway: 50050, registry: 50051, user: 50052, order: 50053 } as const;

export type AppName = keyof typeof DEFAULT_PORTS;

/** Settings every app reads from its environment (docs/configuration.md lists them). */
export interface ServiceConfig {
  app: AppName;
  /** Address the gRPC server binds to. */
  grpcHost: string;
  grpcPort: number;
  /** METRICS_PORT: where /metrics is served (on GRPC_HOST); off when unset, 0 picks a free port. */
  metricsPort: number | undefined;
  /** What other apps dial to reach this instance; `auto` detects it at start (advertise-address.ts); unset means `127.0.0.1:<bound port>`. */
  advertiseAddress: string | undefined;
  /** REGISTRY_ADDRESS, comma-separated: the registries to use, in order; the next one takes over when one is unreachable. */
  registryAddresses: readonly string[];
  /** REGISTRY_TOKEN, else the contents of REGISTRY_TOKEN_FILE. */
  registryToken: string | undefined;
  dataDir: string;
  databaseUrl: string | undefined;
  /** How long one SQL statement may run before the database cancels it. */
  databaseStatementTimeoutMs: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  logFormat: 'json' | 'pretty';
  /** Deadline given to outgoing calls whose caller set none. */
  defaultDeadlineMs: number;
  /** On SIGTERM, how long a DRAINING instance keeps serving before it stops taking calls, so clients see the change first. */
  drainDelayMs: number;
  /** How long SIGTERM waits for calls in flight before cutting them off. */
  shutdownTimeoutMs: number;
  version: string;
  /** FAULTS: faults to inject into this server's calls (chaos tests, demos); off unless set. */
  faults: readonly FaultRule[];
  /** RETRY_POLICY (JSON): retry overrides by service or method, hedging, throttling. */
  retryPolicy: RetryPolicyConfig | undefined;
  /** ROUTING_RULES (JSON) or ROUTING_RULES_FILE (reloaded on change): canary and versioned routing of this app's calls. */
  routingRules: RoutingRulesSetting;
  /** TLS_CERT, TLS_KEY, TLS_CA: mutual TLS on every server and client of the app; undefined means plaintext. */
  tls: TlsFiles | undefined;
  /** GRPC_MAX_*, GRPC_KEEPALIVE_*: what one peer may cost the server; clients size their messages to match. */
  limits: ServerLimits;
  /** EVENTS_URL: the NATS servers (JetStream) events go through, comma-separated; events are off when unset. */
  eventsUrl: string | undefined;
}

/** The token in REGISTRY_TOKEN_FILE (the docker secrets `*_FILE` convention), trimmed. */
function readTokenFile(path: string): string {
  let token: string;
  try {
    token = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(
      `invalid configuration:\n  REGISTRY_TOKEN_FILE=${JSON.stringify(path)}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)}); the registry writes it at its first start, or set REGISTRY_TOKEN`,
    );
  }
  if (token === '') throw new ConfigError(`invalid configuration:\n  REGISTRY_TOKEN_FILE=${JSON.stringify(path)}: the file is empty; put the registry token in it, or delete it for the registry to write a new one`);
  return token;
}

export function loadServiceConfig(app: AppName, env: Record<string, string | undefined> = process.env): ServiceConfig {
  const parsed = parseEnv(
    {
      GRPC_HOST: z.string().default('0.0.0.0'),
      GRPC_PORT: portVariable(DEFAULT_PORTS[app]),
      METRICS_PORT: portVariable(0).unwrap().optional(),
      ADVERTISE_ADDRESS: advertiseAddressVariable().optional(),
      REGISTRY_ADDRESS: dialAddressListVariable().default(['127.0.0.1:50051']),
      REGISTRY_TOKEN: secretVariable(z.string().optional()),
      REGISTRY_TOKEN_FILE: z.string().optional(),
      DATA_DIR: z.string().default('./data'),
      // May carry a password, in the userinfo or as ?password=.
      DATABASE_URL: secretVariable(z.string().regex(/^postgres(ql)?:\/\//, 'expected postgres://user@host:port/database').optional()),
      // As long as the default call deadline: a statement the caller no longer waits for stops too.
      DATABASE_STATEMENT_TIMEOUT_MS: millisecondsVariable(5000),
      LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
      DEFAULT_DEADLINE_MS: millisecondsVariable(5000),
      DRAIN_DELAY_MS: z.coerce.number({ error: 'expected milliseconds' }).int('expected whole milliseconds').min(0, 'expected milliseconds >= 0').default(1000),
      SHUTDOWN_TIMEOUT_MS: millisecondsVariable(10000),
      SERVICE_VERSION: z.string().default('0.1.0'),
      FAULTS: faultsVariable(),
      // May carry a token or password in the userinfo.
      EVENTS_URL: secretVariable(eventsUrlVariable().optional()),
    },
    env,
  );
  return Object.freeze({
    app,
    grpcHost: parsed.GRPC_HOST,
    grpcPort: parsed.GRPC_PORT,
    metricsPort: parsed.METRICS_PORT,
    advertiseAddress: parsed.ADVERTISE_ADDRESS,
    registryAddresses: Object.freeze([...parsed.REGISTRY_ADDRESS]),
    registryToken: parsed.REGISTRY_TOKEN ?? (parsed.REGISTRY_TOKEN_FILE === undefined ? undefined : readTokenFile(parsed.REGISTRY_TOKEN_FILE)),
    dataDir: parsed.DATA_DIR,
    databaseUrl: parsed.DATABASE_URL,
    databaseStatementTimeoutMs: parsed.DATABASE_STATEMENT_TIMEOUT_MS,
    logLevel: parsed.LOG_LEVEL,
    logFormat: parsed.LOG_FORMAT,
    defaultDeadlineMs: parsed.DEFAULT_DEADLINE_MS,
    drainDelayMs: parsed.DRAIN_DELAY_MS,
    shutdownTimeoutMs: parsed.SHUTDOWN_TIMEOUT_MS,
    version: parsed.SERVICE_VERSION,
    faults: parsed.FAULTS,
    retryPolicy: parseRetryPolicy(env.RETRY_POLICY),
    routingRules: loadRoutingRulesSetting(env),
    tls: loadTlsConfig(env),
    limits: loadServerLimits(env),
    eventsUrl: parsed.EVENTS_URL,
  });
}
