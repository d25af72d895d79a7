import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import { gatewayV1, orderV1, userV1 } from '@switchyard/proto';
import { eventually } from '@switchyard/testing';
import { SignJWT } from 'jose';
import pino from 'pino';
import { loadAuthConfig } from './auth-config';
import { authMiddleware } from './auth-middleware';
import { edgeAuthRules, type EdgeAuthRules } from './auth-rules-watch';
import { startEdge, type Edge } from './edge.test-support';
import { createTokenVerifier } from './token-verifier';

const SECRET = 'a shared secret of well over thirty-two bytes, for tests';
const CREATE_USER = '/switchyard.user.v1.UserService/CreateUser';
const GET_USER = '/switchyard.user.v1.UserService/GetUser';
const SERVED = [userV1.UserServiceService, orderV1.OrderServiceService, gatewayV1.GatewayServiceService].flatMap((service) => Object.values(service).map((method) => method.path));

const token = async (roles: string[] = []) =>
  ({ authorization: `Bearer ${await new SignJWT({ sub: 'user-42', roles }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(SECRET))}` });

describe('AUTH_RULES_FILE: public methods and roles reloaded without a restart', () => {
  let edge: Edge;
  let rules: EdgeAuthRules;
  let dir: string;
  let file: string;
  const logLines: string[] = [];
  const write = (value: unknown) => writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auth-rules-'));
    file = join(dir, 'auth-rules.json');
    write({ publicMethods: [], methodRoles: {} });
    const config = loadAuthConfig({ AUTH_JWT_SECRET: SECRET, AUTH_RULES_FILE: file })!;
    const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
    rules = edgeAuthRules(config, SERVED, logger, { intervalMs: 50 });
    edge = await startEdge(authMiddleware({ verify: createTokenVerifier(config, { logger }), rules: rules.current }));
  });

  afterAll(async () => {
    rules?.close();
    await edge?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const reloaded = (count: number) => eventually(async () => logLines.filter((line) => line.includes('"auth rules reloaded"')).length >= count, 10_000, 'the reload to be logged');
  const rejected = (count: number) => eventually(async () => logLines.filter((line) => line.includes('auth rules file rejected')).length >= count, 10_000, 'the rejection to be logged');

  it('makes a method public once the file lists it, over gRPC and HTTP, and logs the change', async () => {
    expect(await edge.grpc('createUser')).toMatchObject({ code: Status.UNAUTHENTICATED });
    write({ publicMethods: [CREATE_USER] });
    await reloaded(1);
    expect(logLines.find((line) => line.includes('"auth rules reloaded"'))).toContain(CREATE_USER);
    expect(await edge.grpc('createUser')).toEqual({ code: Status.OK, details: 'OK' });
    expect((await edge.http('POST', '/v1/users', {}, { name: 'Bo', email: 'bo@example.com' })).status).toBe(200);
    // Still only that one: GetUser wants a token.
    expect(await edge.grpc('getUser')).toMatchObject({ code: Status.UNAUTHENTICATED });
  });

  it('enforces a role requirement a reload adds', async () => {
    const viewer = await token(['viewer']);
    expect(await edge.grpc('getUser', viewer)).toEqual({ code: Status.OK, details: 'OK' });
    write({ publicMethods: [CREATE_USER], methodRoles: { [GET_USER]: ['admin'] } });
    await reloaded(2);
    expect(await edge.grpc('getUser', viewer)).toEqual({ code: Status.PERMISSION_DENIED, details: 'this method needs the role admin' });
    expect((await edge.http('GET', '/v1/users/u1', viewer)).status).toBe(403);
    expect(await edge.grpc('getUser', await token(['admin']))).toEqual({ code: Status.OK, details: 'OK' });
  });

  it.each([
    ['a half-written file', '{"publicMethods": [', /not JSON/],
    ['a method the gateway does not serve', { methodRoles: { '/switchyard.user.v1.UserService/DeleteUser': ['admin'] } }, /methodRoles: the gateway serves no method \/switchyard\.user\.v1\.UserService\/DeleteUser/],
    ['a method both public and role-bound', { publicMethods: [GET_USER], methodRoles: { [GET_USER]: ['admin'] } }, /is in both publicMethods and methodRoles/],
    ['an unknown key (a typo)', { publicMethod: [GET_USER] }, /Unrecognized key/i],
    ['a method name that is no method path', { publicMethods: ['GetUser'] }, /publicMethods\.0: expected a full method name/],
  ])('keeps the rules in force and logs why on %s', async (_name, content, reason) => {
    const before = logLines.filter((line) => line.includes('auth rules file rejected')).length;
    write(content);
    await rejected(before + 1);
    expect(JSON.parse(logLines.filter((line) => line.includes('auth rules file rejected')).at(-1)!).reason).toMatch(reason);
    // The rules of the last good file: CreateUser public, GetUser for admins.
    expect(await edge.grpc('createUser')).toEqual({ code: Status.OK, details: 'OK' });
    expect(await edge.grpc('getUser', await token(['viewer']))).toMatchObject({ code: Status.PERMISSION_DENIED });
  });
});

describe('AUTH_RULES_FILE at start', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'auth-rules-start-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const logger = pino({ level: 'silent' });

  it('stops the gateway with the variable named when the file is bad or missing', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ publicMethods: ['/switchyard.user.v1.UserService/Nope'] }));
    const config = (path: string) => loadAuthConfig({ AUTH_JWT_SECRET: SECRET, AUTH_RULES_FILE: path })!;
    expect(() => edgeAuthRules(config(bad), SERVED, logger)).toThrow(/AUTH_RULES_FILE: publicMethods: the gateway serves no method \/switchyard\.user\.v1\.UserService\/Nope/);
    expect(() => edgeAuthRules(config(join(dir, 'missing.json')), SERVED, logger)).toThrow(/AUTH_RULES_FILE: cannot read .*missing\.json \(ENOENT\)/);
  });

  it('refuses AUTH_RULES_FILE alongside AUTH_PUBLIC_METHODS or AUTH_METHOD_ROLES', () => {
    expect(() => loadAuthConfig({ AUTH_JWT_SECRET: SECRET, AUTH_RULES_FILE: join(dir, 'x.json'), AUTH_PUBLIC_METHODS: CREATE_USER })).toThrow(/AUTH_RULES_FILE is set with AUTH_PUBLIC_METHODS or AUTH_METHOD_ROLES/);
  });
});
