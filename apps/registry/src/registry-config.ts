import { z } from 'zod';
import { ConfigError, millisecondsVariable, parseEnv, portVariable, secretVariable } from '@switchyard/runtime';
import { DEFAULT_ETCD_PREFIX } from './etcd-key-layout';
import { DEFAULT_SWEEP_INTERVAL_MS } from './eviction-sweep';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_LEASE_TTL_MS } from './lease-table';
import type { ReadAccess } from './registry-access';
import { DEFAULT_MAX_WATCHES_PER_PEER, DEFAULT_WATCH_STALL_MS } from './registry-handlers';
import { CLIENT_MAX_RECEIVE_BYTES, DEFAULT_REGISTRY_LIMITS, largestSnapshotBytes, type RegistryLimits } from './registry-limits';

/** Where the registry keeps its leases (REGISTRY_STORE): in this process, or in etcd for several replicas. */
export type RegistryStoreSettings =
  | { kind: 'memory' }
  | {
      kind: 'etcd';
      /** ETCD_ENDPOINTS: client URLs of the etcd members. */
      endpoints: readonly string[];
      /** ETCD_PREFIX: the prefix of every key the registry writes. */
      prefix: string;
    };

/** The registry's own settings (docs/configuration.md lists them); the common ones are in ServiceConfig. */
export interface RegistrySettings {
  leaseTtlMs: number;
  heartbeatIntervalMs: number;
  sweepIntervalMs: number;
  /** REGISTRY_TOKENS: the token that may register each service. */
  serviceTokens: Readonly<Record<string, string>>;
  /** REGISTRY_READ_ACCESS; undefined means "token" when any token is configured, else "mtls" with TLS on, else "open". */
  readAccess: ReadAccess | undefined;
  limits: RegistryLimits;
  maxWatchesPerPeer: number;
  watchStallMs: number;
  /** HTTP_PORT and HTTP_HOST of the dashboard; undefined (HTTP_PORT unset) leaves it off. */
  dashboard: { host: string; port: number } | undefined;
  store: RegistryStoreSettings;
}

const SERVICE_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const MIN_SERVICE_TOKEN_LENGTH = 16;

/** REGISTRY_TOKENS: `user=<token>,order=<token>`; one token may appear for several services. A secret: errors never quote it. */
const serviceTokensVariable = () =>
  secretVariable(z
    .string()
    .transform((value, ctx) => {
      const tokens: Record<string, string> = {};
      for (const [entry, pair] of value.split(',').map((part) => part.trim()).filter((part) => part !== '').entries()) {
        const equals = pair.indexOf('=');
        const service = equals > 0 ? pair.slice(0, equals) : '';
        const token = pair.slice(equals + 1);
        if (!SERVICE_NAME.test(service)) {
          ctx.addIssue({ code: 'custom', message: `expected service=token pairs separated by commas (e.g. user=<token>,order=<token>); entry ${entry + 1} does not start with a service name` });
        } else if (token.length < MIN_SERVICE_TOKEN_LENGTH || /\s/.test(token)) {
          ctx.addIssue({ code: 'custom', message: `the token of ${service} must be at least ${MIN_SERVICE_TOKEN_LENGTH} characters without spaces (e.g. openssl rand -base64 32)` });
        } else if (tokens[service] !== undefined) {
          ctx.addIssue({ code: 'custom', message: `${service} appears twice` });
        } else tokens[service] = token;
      }
      return tokens;
    })
    .default({}));

/** ETCD_ENDPOINTS: `http://host:port` client URLs separated by commas. */
const etcdEndpointsVariable = () =>
  z.string().transform((value, ctx) => {
    const endpoints = value.split(',').map((part) => part.trim()).filter((part) => part !== '');
    for (const endpoint of endpoints) {
      if (!/^http:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(endpoint)) {
        ctx.addIssue({ code: 'custom', message: `expected http://host:port client URLs separated by commas (e.g. http://etcd-0:2379,http://etcd-1:2379); ${JSON.stringify(endpoint)} is not one` });
      }
    }
    if (endpoints.length === 0) ctx.addIssue({ code: 'custom', message: 'expected at least one http://host:port client URL' });
    return endpoints;
  });

/** ETCD_PREFIX: where the registry's keys live in etcd; registries sharing a prefix share one fleet. */
const etcdPrefixVariable = () =>
  z.string().regex(/^\/(\S*\/)?$/, 'expected a key prefix that starts and ends with / and has no spaces, e.g. /switchyard/registry/').default(DEFAULT_ETCD_PREFIX);

const countVariable = (defaultCount: number) =>
  z.coerce.number({ error: 'expected a whole number' }).int('expected a whole number').positive('expected a number > 0').default(defaultCount);

const booleanVariable = (defaultValue: boolean) =>
  z.enum(['true', 'false'], { error: 'expected true or false' }).default(defaultValue ? 'true' : 'false').transform((value) => value === 'true');

export function loadRegistrySettings(env: Record<string, string | undefined> = process.env): RegistrySettings {
  const d = DEFAULT_REGISTRY_LIMITS;
  const parsed = parseEnv(
    {
      LEASE_TTL_MS: millisecondsVariable(DEFAULT_LEASE_TTL_MS),
      HEARTBEAT_INTERVAL_MS: millisecondsVariable(DEFAULT_HEARTBEAT_INTERVAL_MS),
      EVICTION_SWEEP_MS: millisecondsVariable(DEFAULT_SWEEP_INTERVAL_MS),
      REGISTRY_TOKENS: serviceTokensVariable(),
      REGISTRY_READ_ACCESS: z.enum(['open', 'token', 'mtls'], { error: 'expected open, token or mtls' }).optional(),
      REGISTRY_MAX_INSTANCES: countVariable(d.maxInstances),
      REGISTRY_MAX_INSTANCES_PER_SERVICE: countVariable(d.maxInstancesPerService),
      REGISTRY_MAX_ADDRESS_LENGTH: countVariable(d.maxAddressLength),
      REGISTRY_MAX_VERSION_LENGTH: countVariable(d.maxVersionLength),
      REGISTRY_MAX_ZONE_LENGTH: countVariable(d.maxZoneLength),
      REGISTRY_MAX_METADATA_ENTRIES: countVariable(d.maxMetadataEntries),
      REGISTRY_MAX_METADATA_KEY_LENGTH: countVariable(d.maxMetadataKeyLength),
      REGISTRY_MAX_METADATA_VALUE_LENGTH: countVariable(d.maxMetadataValueLength),
      REGISTRY_ALLOW_LINK_LOCAL: booleanVariable(d.allowLinkLocal),
      REGISTRY_MAX_WATCHES_PER_PEER: countVariable(DEFAULT_MAX_WATCHES_PER_PEER),
      REGISTRY_WATCH_STALL_MS: millisecondsVariable(DEFAULT_WATCH_STALL_MS),
      HTTP_PORT: portVariable(0).optional(),
      // The dashboard binds where gRPC does unless told otherwise.
      HTTP_HOST: z.string().default(env.GRPC_HOST || '0.0.0.0'),
      REGISTRY_STORE: z.enum(['memory', 'etcd'], { error: 'expected memory or etcd' }).default('memory'),
      ETCD_ENDPOINTS: etcdEndpointsVariable().optional(),
      ETCD_PREFIX: etcdPrefixVariable(),
    },
    env,
  );
  if (parsed.HEARTBEAT_INTERVAL_MS >= parsed.LEASE_TTL_MS) {
    throw new ConfigError(
      `invalid configuration:\n  HEARTBEAT_INTERVAL_MS=${parsed.HEARTBEAT_INTERVAL_MS} must be shorter than LEASE_TTL_MS=${parsed.LEASE_TTL_MS} (three beats per TTL is the default)`,
    );
  }
  if (parsed.REGISTRY_READ_ACCESS === 'mtls' && !env.TLS_CERT) {
    throw new ConfigError('invalid configuration:\n  REGISTRY_READ_ACCESS="mtls": needs mutual TLS; set TLS_CERT, TLS_KEY and TLS_CA, or choose open or token');
  }
  if (parsed.REGISTRY_STORE === 'etcd' && !parsed.ETCD_ENDPOINTS) {
    throw new ConfigError(
      'invalid configuration:\n  ETCD_ENDPOINTS=(unset): REGISTRY_STORE=etcd needs the etcd client URLs, e.g. ETCD_ENDPOINTS=http://etcd-0:2379,http://etcd-1:2379,http://etcd-2:2379',
    );
  }
  if (parsed.REGISTRY_STORE === 'memory' && parsed.ETCD_ENDPOINTS) {
    throw new ConfigError('invalid configuration:\n  ETCD_ENDPOINTS is set but REGISTRY_STORE is memory: set REGISTRY_STORE=etcd to keep leases in etcd, or unset ETCD_ENDPOINTS');
  }
  const limits: RegistryLimits = {
    maxInstances: parsed.REGISTRY_MAX_INSTANCES,
    maxInstancesPerService: parsed.REGISTRY_MAX_INSTANCES_PER_SERVICE,
    maxAddressLength: parsed.REGISTRY_MAX_ADDRESS_LENGTH,
    maxVersionLength: parsed.REGISTRY_MAX_VERSION_LENGTH,
    maxZoneLength: parsed.REGISTRY_MAX_ZONE_LENGTH,
    maxMetadataEntries: parsed.REGISTRY_MAX_METADATA_ENTRIES,
    maxMetadataKeyLength: parsed.REGISTRY_MAX_METADATA_KEY_LENGTH,
    maxMetadataValueLength: parsed.REGISTRY_MAX_METADATA_VALUE_LENGTH,
    allowLinkLocal: parsed.REGISTRY_ALLOW_LINK_LOCAL,
  };
  // A snapshot larger than a client may receive would make every new client of that service fail.
  const snapshotBytes = largestSnapshotBytes(limits);
  if (snapshotBytes > CLIENT_MAX_RECEIVE_BYTES) {
    throw new ConfigError(
      `invalid configuration:\n  REGISTRY_MAX_INSTANCES_PER_SERVICE=${limits.maxInstancesPerService} with the field limits (REGISTRY_MAX_ADDRESS_LENGTH, REGISTRY_MAX_VERSION_LENGTH, REGISTRY_MAX_ZONE_LENGTH, REGISTRY_MAX_METADATA_*) allows Watch snapshots of up to ${snapshotBytes} bytes, more than the ${CLIENT_MAX_RECEIVE_BYTES} a client receives by default: lower one of them`,
    );
  }
  return Object.freeze({
    leaseTtlMs: parsed.LEASE_TTL_MS,
    heartbeatIntervalMs: parsed.HEARTBEAT_INTERVAL_MS,
    sweepIntervalMs: parsed.EVICTION_SWEEP_MS,
    serviceTokens: parsed.REGISTRY_TOKENS,
    readAccess: parsed.REGISTRY_READ_ACCESS,
    limits: Object.freeze(limits),
    maxWatchesPerPeer: parsed.REGISTRY_MAX_WATCHES_PER_PEER,
    watchStallMs: parsed.REGISTRY_WATCH_STALL_MS,
    dashboard: env.HTTP_PORT ? Object.freeze({ host: parsed.HTTP_HOST, port: parsed.HTTP_PORT ?? 0 }) : undefined,
    store: Object.freeze(
      parsed.REGISTRY_STORE === 'etcd'
        ? { kind: 'etcd' as const, endpoints: Object.freeze(parsed.ETCD_ENDPOINTS!), prefix: parsed.ETCD_PREFIX }
        : { kind: 'memory' as const },
    ),
  });
}
