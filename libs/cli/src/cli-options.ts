import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { channelCredentials } from '@switchyard/runtime';
import type { ChannelCredentials } from '@grpc/grpc-js';
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

function readTokenFile(path: string, source: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new UsageError(`${source}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** --token, REGISTRY_TOKEN, REGISTRY_TOKEN_FILE, then ./data/registry-token, in that order. */
function resolveToken(flag: string | undefined, env: Env, cwd: string): string | undefined {
  if (flag) return flag;
  if (env.REGISTRY_TOKEN) return env.REGISTRY_TOKEN;
  if (env.REGISTRY_TOKEN_FILE) return readTokenFile(env.REGISTRY_TOKEN_FILE, 'REGISTRY_TOKEN_FILE');
  const local = `${cwd}/${DEFAULT_TOKEN_FILE}`;
  return existsSync(local) ? readTokenFile(local, DEFAULT_TOKEN_FILE) || undefined : undefined;
}

function parseRegistries(value: string): string[] {
  const addresses = value.split(',').map((entry) => entry.trim());
  for (const address of addresses) {
    if (!/^[^\s:]+:\d{1,5}$/.test(address) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(address)) {
      throw new UsageError(`--registry: ${JSON.stringify(address)} is not host:port (several: host:port,host:port)`);
    }
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

function readTlsFile(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError(`${flag}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** TLS from --cacert/--cert/--key or TLS_CA/TLS_CERT/TLS_KEY: none, or all three. */
function resolveCredentials(flags: { cacert?: string; cert?: string; key?: string }, env: Env): ChannelCredentials {
  const ca = flags.cacert ?? env.TLS_CA;
  const cert = flags.cert ?? env.TLS_CERT;
  const key = flags.key ?? env.TLS_KEY;
  const given = [ca, cert, key].filter(Boolean).length;
  if (given === 0) return channelCredentials(undefined);
  if (given !== 3) throw new UsageError('TLS needs all three of --cacert, --cert and --key (or TLS_CA, TLS_CERT, TLS_KEY)');
  return channelCredentials({
    ca: readTlsFile(ca as string, '--cacert'),
    cert: readTlsFile(cert as string, '--cert'),
    key: readTlsFile(key as string, '--key'),
  });
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
  return {
    command: positionals[0],
    args: positionals.slice(1),
    help,
    json: values.json ?? false,
    registries: parseRegistries(values.registry ?? env.REGISTRY_ADDRESS ?? DEFAULT_REGISTRY),
    token: help ? undefined : resolveToken(values.token, env, cwd),
    credentials: help ? channelCredentials(undefined) : resolveCredentials(values, env),
    timeoutMs: parseTimeout(values.timeout),
  };
}
