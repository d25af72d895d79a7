import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { channelCredentials, hostPortVariable, loadTlsConfig, parseEnv, secretVariable } from '@switchyard/runtime';
import { z } from 'zod';
import { UsageError } from './cli-errors';

export interface CliOptions {
  command: string | undefined;
  args: string[];
  help: boolean;
  json: boolean;
  registries: string[];
  /** Never printed. */
  token: string | undefined;
  credentials: ChannelCredentials;
  timeoutMs: number;
}

const DEFAULT_REGISTRY = '127.0.0.1:50051';
const DEFAULT_TIMEOUT_MS = 5_000;
/** What `npm start` writes (see README). */
const DEFAULT_TOKEN_FILE = 'data/registry-token';

type Env = Record<string, string | undefined>;

/** One line from a ConfigError's lines, for a terminal. */
function oneLine(error: unknown): string {
  return (error as Error).message.replace(/^invalid configuration:\n/, '').split('\n').map((line) => line.trim()).join('; ');
}

/** The variables the CLI reads; flags win over them. */
function readEnv(env: Env) {
  try {
    return parseEnv(
      {
        REGISTRY_ADDRESS: z
          .string()
          .refine((value) => value.split(',').every((address) => hostPort.safeParse(address.trim()).success), 'expected host:port[,host:port]')
          .optional(),
        REGISTRY_TOKEN: secretVariable(z.string().optional()),
        REGISTRY_TOKEN_FILE: z.string().optional(),
      },
      env,
    );
  } catch (error) {
    throw new UsageError(oneLine(error));
  }
}

const hostPort = hostPortVariable();

function readTokenFile(path: string, source: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new UsageError(`${source}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
}

/** --token, REGISTRY_TOKEN, REGISTRY_TOKEN_FILE, then ./data/registry-token, in that order. */
function resolveToken(flag: string | undefined, env: ReturnType<typeof readEnv>, cwd: string): string | undefined {
  if (flag) return flag;
  if (env.REGISTRY_TOKEN) return env.REGISTRY_TOKEN;
  if (env.REGISTRY_TOKEN_FILE) return readTokenFile(env.REGISTRY_TOKEN_FILE, 'REGISTRY_TOKEN_FILE');
  const local = join(cwd, DEFAULT_TOKEN_FILE);
  return existsSync(local) ? readTokenFile(local, DEFAULT_TOKEN_FILE) || undefined : undefined;
}

function parseRegistries(value: string, source: string): string[] {
  const addresses = value.split(',').map((entry) => entry.trim());
  for (const address of addresses) {
    if (!hostPort.safeParse(address).success) throw new UsageError(`${source}: ${JSON.stringify(address)} is not host:port (several: host:port,host:port)`);
  }
  return addresses;
}

function parseTimeout(value: string | undefined): number {
  if (value === undefined) return DEFAULT_TIMEOUT_MS;
  const match = /^(\d+)(ms|s)?$/.exec(value);
  if (!match) throw new UsageError(`--timeout: ${JSON.stringify(value)} is not a duration (e.g. 5s or 500ms)`);
  const ms = match[2] === 'ms' ? Number(match[1]) : Number(match[1]) * 1000;
  if (ms < 1 || ms > 3_600_000) throw new UsageError('--timeout: must be between 1ms and 1h');
  return ms;
}

/**
 * TLS from --cacert/--cert/--key, each over TLS_CA/TLS_CERT/TLS_KEY: none for plaintext, or all
 * three, checked as the apps check theirs (loadTlsConfig).
 */
function resolveCredentials(flags: { cacert?: string; cert?: string; key?: string }, env: Env): ChannelCredentials {
  try {
    const tls = loadTlsConfig({ TLS_CA: flags.cacert ?? env.TLS_CA, TLS_CERT: flags.cert ?? env.TLS_CERT, TLS_KEY: flags.key ?? env.TLS_KEY });
    return channelCredentials(tls);
  } catch (error) {
    throw new UsageError(`TLS (--cacert, --cert, --key or TLS_CA, TLS_CERT, TLS_KEY): ${oneLine(error)}`);
  }
}

export function parseCliOptions(argv: string[], env: Env, cwd: string): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        json: { type: 'boolean' },
        registry: { type: 'string' },
        token: { type: 'string' },
        cacert: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        timeout: { type: 'string' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const help = values.help ?? false;
  const variables = help ? {} : readEnv(env);
  return {
    command: positionals[0],
    args: positionals.slice(1),
    help,
    json: values.json ?? false,
    registries: values.registry
      ? parseRegistries(values.registry, '--registry')
      : parseRegistries(variables.REGISTRY_ADDRESS ?? DEFAULT_REGISTRY, 'REGISTRY_ADDRESS'),
    token: help ? undefined : resolveToken(values.token, variables, cwd),
    credentials: help ? channelCredentials(undefined) : resolveCredentials(values, env),
    timeoutMs: parseTimeout(values.timeout),
  };
}
