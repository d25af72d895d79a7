import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { seedUsersWithOrders, startAppStack } from '../servers/app-stack';
import type { Scenario, StackLauncher, Variant, VariantStack } from './scenario';
import { TRACING_10_PERCENT } from './switchyard-environment';

const SEEDED_USERS = 50;
const REDIS_HOST = '127.0.0.1';
const REDIS_PORT = 6379;
const REDIS_URL = `redis://${REDIS_HOST}:${REDIS_PORT}`;
/** Far above what the bench can send: every check passes, so the row measures the check itself. */
const UNREACHED_LIMIT = JSON.stringify({ default: { rate: 1_000_000, burst: 1_000_000, by: 'address' } });
/** At least 32 bytes, as the gateway requires. */
const HS256_SECRET = 'bench secret: long enough for HS256, not a real one';

type Edge = 'grpc-gateway' | 'http' | 'grpc-direct';

/** Gateway settings of a row and the authorization header its client sends. */
interface EdgeSettings {
  env: Record<string, string>;
  authorization?: string;
  notes: string[];
}

async function token(sign: (jwt: SignJWT) => Promise<string>): Promise<string> {
  return `Bearer ${await sign(new SignJWT({ roles: ['bench'] }).setSubject('bench-caller').setIssuedAt().setExpirationTime('2h'))}`;
}

async function hs256(): Promise<EdgeSettings> {
  return {
    env: { AUTH_JWT_SECRET: HS256_SECRET },
    authorization: await token((jwt) => jwt.setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(HS256_SECRET))),
    notes: ['AUTH_JWT_SECRET set: every call carries an HS256 token the gateway verifies'],
  };
}

async function rs256(launcher: StackLauncher): Promise<EdgeSettings> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const dir = mkdtempSync(join(tmpdir(), 'bench-jwks-'));
  launcher.afterStop(async () => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'jwks.json');
  writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'bench-1', alg: 'RS256', use: 'sig' }] }));
  return {
    env: { AUTH_JWKS_FILE: file },
    authorization: await token((jwt) => jwt.setProtectedHeader({ alg: 'RS256', kid: 'bench-1' }).sign(privateKey)),
    notes: ['AUTH_JWKS_FILE with one RSA-2048 key: every call carries an RS256 token the gateway verifies'],
  };
}

/** Fails the row at once, saying what to do, rather than after the gateway's Redis checks time out. */
function requireRedis(): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: REDIS_HOST, port: REDIS_PORT }, () => {
      socket.destroy();
      resolve();
    });
    socket.setTimeout(2000, () => socket.destroy(new Error('timed out')));
    socket.on('error', (error) => reject(new Error(`the Redis rate-limit row needs Redis at ${REDIS_URL} (${error.message}): start one, e.g. docker run -p 6379:6379 redis`)));
  });
}

async function rateLimited(store: 'memory' | 'redis'): Promise<EdgeSettings> {
  if (store === 'redis') await requireRedis();
  return {
    env: {
      RATE_LIMITS: UNREACHED_LIMIT,
      // A prefix of this run's own, so other users of the Redis share no bucket with it.
      ...(store === 'redis' ? { REDIS_URL, RATE_LIMIT_REDIS_PREFIX: `switchyard-bench:${process.pid}:${Date.now()}:` } : {}),
    },
    notes: [store === 'redis' ? `RATE_LIMITS (never reached), buckets in Redis at ${REDIS_URL}: one script call per request` : 'RATE_LIMITS (never reached), buckets in memory'],
  };
}

/**
 * The four built apps (SQLite, logging at info, 10% sampling) and one client: GetUser over gRPC
 * through the gateway (forwarded to user), over HTTP through the gateway's JSON face (which calls
 * the gateway's own gRPC port over loopback), or over gRPC straight to user.
 */
async function edgeVariant(launcher: StackLauncher, edge: Edge, settings: EdgeSettings = { env: {}, notes: [] }): Promise<VariantStack> {
  const httpPort = await launcher.freePort();
  const stack = await startAppStack(launcher, {
    env: TRACING_10_PERCENT,
    envByApp: { gateway: { HTTP_HOST: '127.0.0.1', HTTP_PORT: String(httpPort), ...settings.env } },
    answering: edge === 'grpc-direct' ? 'user' : 'gateway',
  });
  const userIds = await seedUsersWithOrders(stack, SEEDED_USERS, 0);
  const notes = [`${SEEDED_USERS} users in SQLite; server CPU/call sums registry, user, order and gateway`, ...settings.notes];
  if (edge === 'http') {
    return { client: { kind: 'http-app', baseUrl: `http://127.0.0.1:${httpPort}`, userIds, authorization: settings.authorization }, notes: [...notes, 'node:http keep-alive client'] };
  }
  return {
    client: { kind: 'switchyard-app', call: 'GetUser', target: edge === 'grpc-direct' ? 'registry:///user' : 'registry:///gateway', userIds, authorization: settings.authorization },
    clientEnv: { ...TRACING_10_PERCENT, LOG_LEVEL: 'info', REGISTRY_ADDRESS: stack.registryAddress },
    notes,
  };
}

const httpRow = (name: string, description: string, settings: (launcher: StackLauncher) => Promise<EdgeSettings>, inSmoke = true): Variant => ({
  name,
  description,
  inSmoke,
  async start(launcher) {
    return edgeVariant(launcher, 'http', await settings(launcher));
  },
});

/**
 * The gateway's front door: GET /v1/users/{id} on its HTTP face against the same GetUser over gRPC
 * through it, at the same concurrency; then what JWT verification and a rate-limit check add per
 * call, over HTTP as a web client calls.
 */
export const httpScenario: Scenario = {
  name: 'http',
  description: 'GetUser through the gateway: HTTP/JSON face vs gRPC, then with JWT auth and rate limits',
  variants: [
    {
      name: 'gRPC through the gateway',
      description: 'Switchyard client on registry:///gateway: GetUser, forwarded by the gateway to user; auth and rate limits off',
      start: (launcher) => edgeVariant(launcher, 'grpc-gateway'),
    },
    {
      name: 'HTTP through the gateway',
      description: 'GET /v1/users/{id} on the gateway HTTP face (JSON to gRPC over loopback to its own port, then forwarded to user); auth and rate limits off',
      targets: [{ metric: 'throughput', atLeast: 0.6 }],
      start: (launcher) => edgeVariant(launcher, 'http'),
    },
    {
      name: 'gRPC direct to user',
      description: 'Switchyard client on registry:///user: GetUser on the user app, no gateway (reference)',
      // The fanout scenario's smoke run covers this path already.
      inSmoke: false,
      start: (launcher) => edgeVariant(launcher, 'grpc-direct'),
    },
    httpRow('HTTP, JWT HS256', 'the HTTP row with auth on, HS256 shared secret', () => hs256(), false),
    httpRow('HTTP, JWT RS256', 'the HTTP row with auth on, RS256 key from a JWKS file', rs256),
    httpRow('HTTP, rate limit (memory)', 'the HTTP row with a rate limit per client address that is never reached, buckets in memory', () => rateLimited('memory')),
    httpRow('HTTP, rate limit (Redis)', `the HTTP row with the same limit, buckets in Redis at ${REDIS_URL}`, () => rateLimited('redis'), false),
  ],
};
