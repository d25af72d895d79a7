import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { status as Status } from '@grpc/grpc-js';
import { eventually, freePort } from '@switchyard/testing';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import pino from 'pino';
import { loadAuthConfig } from './auth-config';
import { authMiddleware } from './auth-middleware';
import { startEdge, type Edge } from './edge.test-support';
import { createTokenVerifier } from './token-verifier';

const logger = pino({ level: 'silent' });

async function signingKey(kid: string): Promise<{ kid: string; privateKey: CryptoKey; jwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

async function tokenOf(key: { kid: string; privateKey: CryptoKey }): Promise<Record<string, string>> {
  const token = await new SignJWT({ sub: 'user-7' }).setProtectedHeader({ alg: 'RS256', kid: key.kid }).setExpirationTime('5m').sign(key.privateKey);
  return { authorization: `Bearer ${token}` };
}

/** An issuer's JWKS endpoint: serves `keys`, counts its fetches. */
async function startJwksServer(keys: () => JWK[]): Promise<{ url: string; fetches: () => number; server: Server }> {
  let fetches = 0;
  const server = createServer((_request, response) => {
    fetches += 1;
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: keys() }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`, fetches: () => fetches, server };
}

describe('JWT at the edge with keys from a JWKS URL', () => {
  const COOLDOWN_MS = 1000;
  let edge: Edge;
  let jwks: Awaited<ReturnType<typeof startJwksServer>>;
  let published: JWK[];
  let first: Awaited<ReturnType<typeof signingKey>>;

  beforeAll(async () => {
    first = await signingKey('2026-01');
    published = [first.jwk];
    jwks = await startJwksServer(() => published);
    const config = loadAuthConfig({ AUTH_JWKS_URL: jwks.url })!;
    edge = await startEdge(authMiddleware({ verify: createTokenVerifier(config, { logger, jwksCooldownMs: COOLDOWN_MS }) }));
  });

  afterAll(async () => {
    await edge?.close();
    jwks?.server.closeAllConnections();
    await new Promise((resolve) => jwks?.server.close(resolve));
  });

  it('fetches the keys once and verifies tokens from the cache', async () => {
    const token = await tokenOf(first);
    for (let i = 0; i < 5; i += 1) expect((await edge.grpc('getUser', token)).code).toBe(Status.OK);
    expect((await edge.http('GET', '/v1/users/u1', token)).status).toBe(200);
    expect(jwks.fetches()).toBe(1);
  });

  it('picks up a rotated key by its new kid, and keeps the old one while it is still published', async () => {
    const second = await signingKey('2026-02');
    published = [first.jwk, second.jwk];
    // Within the cooldown of the last fetch the new kid may be unknown; after it, a refetch finds it.
    await eventually(async () => (await edge.grpc('getUser', await tokenOf(second))).code === Status.OK, 10_000, 'the new kid to be accepted');
    expect((await edge.http('GET', '/v1/users/u1', await tokenOf(second))).status).toBe(200);
    expect((await edge.grpc('getUser', await tokenOf(first))).code).toBe(Status.OK);
  });

  it('does not refetch the keys for every made-up kid (at most once per cooldown)', async () => {
    const before = jwks.fetches();
    const started = Date.now();
    const forger = await signingKey('unused');
    const answers = [];
    for (let i = 0; i < 30; i += 1) answers.push(await edge.grpc('getUser', await tokenOf({ kid: `made-up-${i}`, privateKey: forger.privateKey })));
    expect(answers.every((answer) => answer.code === Status.UNAUTHENTICATED && answer.details === 'the token signing key is unknown')).toBe(true);
    // One fetch per cooldown that passed during the burst, plus one; never one per token.
    const allowed = Math.ceil((Date.now() - started) / COOLDOWN_MS) + 1;
    expect(jwks.fetches() - before).toBeLessThanOrEqual(Math.min(allowed, 29));
  });
});

describe('JWT at the edge when the JWKS URL does not answer', () => {
  let edge: Edge;

  beforeAll(async () => {
    const config = loadAuthConfig({ AUTH_JWKS_URL: `http://127.0.0.1:${await freePort()}/jwks.json` })!;
    edge = await startEdge(authMiddleware({ verify: createTokenVerifier(config, { logger }) }));
  });

  afterAll(async () => {
    await edge?.close();
  });

  it('answers UNAVAILABLE / 503 (the token may be fine), not UNAUTHENTICATED, and lets nothing through', async () => {
    const token = await tokenOf(await signingKey('k'));
    expect(await edge.grpc('getUser', token)).toEqual({ code: Status.UNAVAILABLE, details: 'cannot verify tokens right now; retry later' });
    const response = await edge.http('GET', '/v1/users/u1', token);
    expect(response).toMatchObject({ status: 503, body: { code: 'UNAVAILABLE' } });
    expect(edge.seen).toEqual([]);
  });
});
