import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import { eventually } from '@switchyard/testing';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import pino from 'pino';
import { loadAuthConfig } from './auth-config';
import { authMiddleware } from './auth-middleware';
import { startEdge, type Edge } from './edge.test-support';
import { createTokenVerifier } from './token-verifier';

const SECRET = 'a shared secret of well over thirty-two bytes, for tests';
const ISSUER = 'https://issuer.test';
const AUDIENCE = 'switchyard';
const LIST_USERS = '/switchyard.user.v1.UserService/ListUsers';
const logger = pino({ level: 'silent' });
const now = () => Math.floor(Date.now() / 1000);

interface KeyPair {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

async function keyPair(alg: 'RS256' | 'ES256', kid: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A token with good defaults (our issuer and audience, valid now for five minutes), then `claims` on top. */
function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { sub: 'user-42', iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 300, ...extra };
}

function hs256(payload: Record<string, unknown> = claims(), key: Uint8Array = new TextEncoder().encode(SECRET)): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(key);
}

function signed(pair: KeyPair, payload: Record<string, unknown> = claims()): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: pair.alg, kid: pair.kid, typ: 'JWT' }).sign(pair.privateKey);
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Every way a token is refused, each proven over gRPC (UNAUTHENTICATED) and HTTP (401 with a Bearer challenge). */
function refusals(rsa: () => KeyPair): { name: string; headers: () => Promise<Record<string, string>>; reason: RegExp }[] {
  return [
    { name: 'no authorization header', headers: async () => ({}), reason: /a bearer token is required/ },
    { name: 'a scheme other than Bearer', headers: async () => ({ authorization: `Basic ${Buffer.from('ada:pw').toString('base64')}` }), reason: /authorization must use the Bearer scheme/ },
    { name: 'an expired token (past the clock skew)', headers: async () => bearer(await signed(rsa(), claims({ exp: now() - 120 }))), reason: /the token has expired/ },
    { name: 'a token not yet valid (nbf past the clock skew)', headers: async () => bearer(await signed(rsa(), claims({ nbf: now() + 120 }))), reason: /the token is not yet valid/ },
    { name: 'a wrong issuer', headers: async () => bearer(await signed(rsa(), claims({ iss: 'https://evil.test' }))), reason: /the token issuer is not accepted/ },
    { name: 'a wrong audience', headers: async () => bearer(await signed(rsa(), claims({ aud: 'someone-else' }))), reason: /the token audience is not accepted/ },
    { name: 'alg none (unsigned)', headers: async () => bearer(`${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims())}.`), reason: /the token algorithm is not accepted/ },
    {
      name: 'a signature that does not match',
      headers: async () => {
        const [header, payload] = (await signed(rsa())).split('.');
        // The claims of one token under the signature of another.
        const other = (await signed(rsa(), claims({ sub: 'someone-else' }))).split('.')[2];
        return bearer(`${header}.${payload}.${other}`);
      },
      reason: /the token signature is invalid/,
    },
    { name: 'a changed payload', headers: async () => {
      const [header, , signature] = (await signed(rsa())).split('.');
      return bearer(`${header}.${base64url(claims({ sub: 'admin' }))}.${signature}`);
    }, reason: /the token signature is invalid/ },
    { name: 'an unknown kid', headers: async () => bearer(await signed(await keyPair('RS256', 'not-published'))), reason: /the token signing key is unknown/ },
    { name: 'two parts only', headers: async () => bearer(`${base64url({ alg: 'RS256' })}.${base64url(claims())}`), reason: /the token is malformed/ },
    { name: 'a header that is not base64url JSON', headers: async () => bearer('aaaa.bbbb.cccc'), reason: /the token is malformed/ },
    { name: 'base64 with characters base64url lacks', headers: async () => bearer(`${base64url({ alg: 'RS256', kid: 'rsa-1' })}+/.${base64url(claims())}.abc`), reason: /the token is malformed/ },
    { name: 'a token with no subject', headers: async () => bearer(await signed(rsa(), claims({ sub: undefined }))), reason: /the token has no subject/ },
  ];
}

describe('JWT at the edge: HS256 secret and RS256/ES256 keys from a JWKS file', () => {
  let edge: Edge;
  let dir: string;
  let jwksFile: string;
  let rsa: KeyPair;
  let ec: KeyPair;
  const logLines: string[] = [];

  beforeAll(async () => {
    rsa = await keyPair('RS256', 'rsa-1');
    ec = await keyPair('ES256', 'ec-1');
    dir = mkdtempSync(join(tmpdir(), 'jwt-edge-'));
    jwksFile = join(dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [rsa.jwk, ec.jwk] }));
    const config = loadAuthConfig({
      AUTH_JWT_SECRET: SECRET,
      AUTH_JWKS_FILE: jwksFile,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_PUBLIC_METHODS: 'switchyard.user.v1.UserService/CreateUser',
      AUTH_METHOD_ROLES: JSON.stringify({ [LIST_USERS]: ['admin'] }),
    })!;
    const recording = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
    edge = await startEdge(authMiddleware({ verify: createTokenVerifier(config, { logger: recording }), publicMethods: config.publicMethods, methodRoles: config.methodRoles }));
  });

  afterAll(async () => {
    await edge?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['HS256 with the shared secret', () => hs256()],
    ['RS256 with a key of the JWKS', () => signed(rsa)],
    ['ES256 with a key of the JWKS', () => signed(ec)],
    ['RS256 expired less than the clock skew ago', () => signed(rsa, claims({ exp: now() - 5 }))],
  ])('takes a valid token (%s) over gRPC and HTTP, and tells user who the caller is', async (_name, token) => {
    const headers = bearer(await token());
    edge.seen.length = 0;
    expect(await edge.grpc('getUser', headers)).toEqual({ code: Status.OK, details: 'OK' });
    const response = await edge.http('GET', '/v1/users/u1', headers);
    expect(response.status).toBe(200);
    expect(edge.seen).toHaveLength(2);
    for (const call of edge.seen) {
      expect(call.metadata['x-switchyard-subject']).toBe('user-42');
      expect(call.metadata.authorization).toBeUndefined();
    }
  });

  describe.each(refusals(() => rsa))('refuses $name', ({ headers, reason }) => {
    it('over gRPC: UNAUTHENTICATED saying why, and nothing reaches user', async () => {
      edge.seen.length = 0;
      const answer = await edge.grpc('getUser', await headers());
      expect(answer.code).toBe(Status.UNAUTHENTICATED);
      expect(answer.details).toMatch(reason);
      expect(edge.seen).toEqual([]);
    });

    it('over HTTP: 401 problem with an RFC 6750 challenge, and nothing reaches user', async () => {
      edge.seen.length = 0;
      const sent = await headers();
      const response = await edge.http('GET', '/v1/users/u1', sent);
      expect(response.status).toBe(401);
      expect(response.body).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', detail: expect.stringMatching(reason) });
      const challenge = response.headers.get('www-authenticate') ?? '';
      if (sent.authorization === undefined) {
        // No credentials sent: told how to authenticate, with no error code (RFC 6750 section 3.1).
        expect(challenge).toBe('Bearer realm="switchyard"');
      } else {
        expect(challenge).toMatch(/^Bearer realm="switchyard", error="invalid_token", error_description="[^"]+"$/);
        expect(challenge).toMatch(reason);
      }
      // Nothing of the token comes back.
      const token = (sent.authorization ?? '').replace(/^\S+ /, '');
      for (const part of token.split('.').filter((segment) => segment.length > 4)) {
        expect(JSON.stringify(response.body)).not.toContain(part);
        expect(challenge).not.toContain(part);
      }
      expect(edge.seen).toEqual([]);
    });
  });

  it('refuses an HS256 token signed with the RSA public key as its secret (algorithm confusion)', async () => {
    const pem = new TextEncoder().encode(await exportSPKI(rsa.publicKey));
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' }).sign(pem);
    expect(await edge.grpc('getUser', bearer(token))).toEqual({ code: Status.UNAUTHENTICATED, details: 'the token signature is invalid' });
    expect((await edge.http('GET', '/v1/users/u1', bearer(token))).status).toBe(401);
  });

  it('strips x-switchyard-* a client sends, and forwards only the subject and roles it verified', async () => {
    const spoofed = { 'x-switchyard-subject': 'admin', 'x-switchyard-roles': 'admin', 'x-switchyard-tenant': 'other' };
    edge.seen.length = 0;
    expect((await edge.grpc('getUser', { ...spoofed, ...bearer(await signed(rsa)) })).code).toBe(Status.OK);
    expect((await edge.http('GET', '/v1/users/u1', { ...spoofed, ...bearer(await signed(rsa)) })).status).toBe(200);
    // Public, no token: no identity at all.
    expect((await edge.grpc('createUser', spoofed)).code).toBe(Status.OK);
    expect((await edge.http('POST', '/v1/users', spoofed, { name: 'Bo', email: 'bo@example.com' })).status).toBe(200);
    expect(edge.seen.map((call) => Object.keys(call.metadata).filter((key) => key.startsWith('x-switchyard-')))).toEqual([
      ['x-switchyard-subject'],
      ['x-switchyard-subject'],
      [],
      [],
    ]);
    expect(edge.seen.slice(0, 2).map((call) => call.metadata['x-switchyard-subject'])).toEqual(['user-42', 'user-42']);
  });

  it('carries the subject on both calls of the GetUserWithOrders fan-out', async () => {
    edge.seen.length = 0;
    expect((await edge.grpc('getUserWithOrders', { 'x-switchyard-subject': 'admin', ...bearer(await hs256()) })).code).toBe(Status.OK);
    expect((await edge.http('GET', '/v1/users/u1:withOrders', bearer(await hs256()))).status).toBe(200);
    expect(edge.seen.map((call) => [call.method, call.metadata['x-switchyard-subject'], call.metadata.authorization]).sort()).toEqual([
      ['/switchyard.order.v1.OrderService/ListOrders', 'user-42', undefined],
      ['/switchyard.order.v1.OrderService/ListOrders', 'user-42', undefined],
      ['/switchyard.user.v1.UserService/GetUser', 'user-42', undefined],
      ['/switchyard.user.v1.UserService/GetUser', 'user-42', undefined],
    ]);
  });

  it('lets a public method through without a token, but not with a bad one', async () => {
    expect(await edge.grpc('createUser')).toEqual({ code: Status.OK, details: 'OK' });
    expect((await edge.http('POST', '/v1/users', {}, { name: 'Bo', email: 'bo@example.com' })).status).toBe(200);
    const expired = bearer(await signed(rsa, claims({ exp: now() - 120 })));
    expect(await edge.grpc('createUser', expired)).toEqual({ code: Status.UNAUTHENTICATED, details: 'the token has expired' });
    expect((await edge.http('POST', '/v1/users', expired, { name: 'Bo', email: 'bo@example.com' })).status).toBe(401);
  });

  it('answers PERMISSION_DENIED / 403 to a valid token without the role a method needs, and passes the roles on to one with it', async () => {
    const plain = bearer(await signed(rsa, claims({ roles: ['viewer'] })));
    edge.seen.length = 0;
    expect(await edge.grpc('listUsers', plain)).toEqual({ code: Status.PERMISSION_DENIED, details: 'this method needs the role admin' });
    const denied = await edge.http('GET', '/v1/users', plain);
    expect(denied).toMatchObject({ status: 403, body: { code: 'PERMISSION_DENIED', detail: 'this method needs the role admin' } });
    expect(denied.headers.get('www-authenticate')).toBeNull();
    expect(edge.seen).toEqual([]);

    expect((await edge.grpc('listUsers', bearer(await signed(rsa, claims({ roles: ['viewer', 'admin'] })))))).toEqual({ code: Status.OK, details: 'OK' });
    // Space-separated, as in an OAuth scope claim.
    expect((await edge.http('GET', '/v1/users', bearer(await hs256(claims({ roles: 'viewer admin' })))))).toMatchObject({ status: 200 });
    expect(edge.seen.map((call) => call.metadata['x-switchyard-roles'])).toEqual(['viewer,admin', 'viewer,admin']);
  });

  it('picks up a key added to the JWKS file (rotation) without a restart', async () => {
    const next = await keyPair('ES256', 'ec-2');
    const token = bearer(await signed(next));
    expect((await edge.grpc('getUser', token)).details).toBe('the token signing key is unknown');
    writeFileSync(jwksFile, JSON.stringify({ keys: [ec.jwk, next.jwk] }));
    await eventually(async () => (await edge.grpc('getUser', token)).code === Status.OK, 10_000, 'the new kid to be accepted');
    // The key dropped from the file is gone too.
    expect((await edge.grpc('getUser', bearer(await signed(rsa)))).details).toBe('the token signing key is unknown');

    // A half-written file keeps the keys read before.
    writeFileSync(jwksFile, '{"keys": [');
    await eventually(async () => (await edge.grpc('getUser', token)).code === Status.OK && logLines.some((line) => line.includes('JWKS file unreadable')), 10_000, 'the bad file to be noticed');
    expect((await edge.grpc('getUser', token)).code).toBe(Status.OK);
  });

});

describe('JWT at the edge with a JWKS only', () => {
  let edge: Edge;
  let dir: string;
  let rsa: KeyPair;

  beforeAll(async () => {
    rsa = await keyPair('RS256', 'rsa-1');
    dir = mkdtempSync(join(tmpdir(), 'jwt-edge-'));
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [rsa.jwk] }));
    const config = loadAuthConfig({ AUTH_JWKS_FILE: join(dir, 'jwks.json') })!;
    edge = await startEdge(authMiddleware({ verify: createTokenVerifier(config, { logger }), publicMethods: config.publicMethods }));
  });

  afterAll(async () => {
    await edge?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses HS256 altogether, so a token signed with the RSA public key as an HMAC secret gets nowhere', async () => {
    const pem = new TextEncoder().encode(await exportSPKI(rsa.publicKey));
    const token = bearer(await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' }).sign(pem));
    expect(await edge.grpc('getUser', token)).toEqual({ code: Status.UNAUTHENTICATED, details: 'the token algorithm is not accepted' });
    const response = await edge.http('GET', '/v1/users/u1', token);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error_description="the token algorithm is not accepted"');
    expect(edge.seen).toEqual([]);
  });

  it('takes any issuer and audience when none is configured', async () => {
    expect((await edge.grpc('getUser', bearer(await signed(rsa, claims({ iss: 'anyone', aud: 'anything' }))))).code).toBe(Status.OK);
  });
});

describe('the edge with auth off', () => {
  let edge: Edge;

  beforeAll(async () => {
    edge = await startEdge(authMiddleware({}));
  });

  afterAll(async () => {
    await edge?.close();
  });

  it('still strips x-switchyard-* a client sends, over gRPC and HTTP', async () => {
    const spoofed = { 'x-switchyard-subject': 'admin', 'x-switchyard-roles': 'admin' };
    expect((await edge.grpc('getUser', spoofed)).code).toBe(Status.OK);
    expect((await edge.grpc('getUserWithOrders', spoofed)).code).toBe(Status.OK);
    expect((await edge.http('GET', '/v1/users/u1', spoofed)).status).toBe(200);
    expect(edge.seen).toHaveLength(4);
    for (const call of edge.seen) expect(Object.keys(call.metadata).filter((key) => key.startsWith('x-switchyard-'))).toEqual([]);
  });
});
