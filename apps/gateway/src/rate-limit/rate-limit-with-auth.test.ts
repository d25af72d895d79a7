import { status as Status } from '@grpc/grpc-js';
import { SignJWT } from 'jose';
import pino from 'pino';
import { loadAuthConfig } from '../auth/auth-config';
import { authMiddleware } from '../auth/auth-middleware';
import { createTokenVerifier } from '../auth/token-verifier';
import { memoryTokenBuckets } from './memory-token-buckets';
import { startLimitedServer, type LimitedServer } from './rate-limited-server.test-support';

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';

function bearer(subject: string): Promise<string> {
  return new SignJWT({ sub: subject })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(SECRET))
    .then((token) => `Bearer ${token}`);
}

describe('rate limits by the subject the real auth middleware verified', () => {
  let server: LimitedServer | undefined;
  afterEach(() => server?.stop());

  it('gives each token subject its own bucket, and a subject header the client sends counts for nothing', async () => {
    const logger = pino({ level: 'silent' });
    const auth = loadAuthConfig({ AUTH_JWT_SECRET: SECRET, AUTH_PUBLIC_METHODS: 'switchyard.user.v1.UserService/ListUsers' })!;
    server = await startLimitedServer({
      rules: { default: { rate: 0.01, burst: 1, by: 'subject' }, methods: {} },
      buckets: memoryTokenBuckets(),
      auth: authMiddleware({ verify: createTokenVerifier(auth, { logger }), publicMethods: auth.publicMethods }),
    });
    const alice = { authorization: await bearer('alice') };
    const bob = { authorization: await bearer('bob') };
    expect((await server.getUser(alice)).code).toBe(Status.OK);
    expect(await server.getUser(alice)).toMatchObject({ code: Status.RESOURCE_EXHAUSTED, details: expect.stringContaining('per subject') });
    expect((await server.getUser(bob)).code).toBe(Status.OK);
    // A public method called without a token: by address; a made-up subject does not change that.
    expect((await server.listUsers({ 'x-switchyard-subject': 'carol' })).code).toBe(Status.OK);
    expect(await server.listUsers({ 'x-switchyard-subject': 'dave' })).toMatchObject({ code: Status.RESOURCE_EXHAUSTED, details: expect.stringContaining('per address') });
  });
});
