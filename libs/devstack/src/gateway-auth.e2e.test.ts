// End to end: the BUILT stack with JWT auth on at the gateway, driven the way docs/auth.md says,
// with the token made by that page's own `node -e` line.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { connectReflection, freePort, type ReflectionConnection } from '@switchyard/testing';
import { checkHealth } from './health-check';
import { LocalStack } from './local-stack';

const workspaceRoot = resolve(__dirname, '../../..');
jest.setTimeout(60_000);

const SECRET = 'an e2e secret that is comfortably longer than 32 bytes';

/** The token line of docs/auth.md, as written. */
function readmeTokenScript(): string {
  const readme = readFileSync(join(workspaceRoot, 'docs', 'auth.md'), 'utf8');
  const match = /^TOKEN=\$\(node -e "(.+)"\)$/m.exec(readme);
  if (!match) throw new Error('docs/auth.md has no TOKEN=$(node -e "...") line');
  return match[1];
}

function makeToken(script: string): string {
  return execFileSync(process.execPath, ['-e', script], { cwd: workspaceRoot, env: { PATH: process.env.PATH, AUTH_JWT_SECRET: SECRET }, encoding: 'utf8' }).trim();
}

describe('the gateway with JWT auth on', () => {
  let stack: LocalStack;
  let dataDir: string;
  let gateway: ReflectionConnection;
  let http: string;
  let admin: string;
  let viewer: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'switchyard-auth-'));
    stack = await LocalStack.start({
      workspaceRoot,
      dataDir,
      extraEnv: {
        AUTH_JWT_SECRET: SECRET,
        AUTH_PUBLIC_METHODS: 'switchyard.user.v1.UserService/CreateUser',
        AUTH_METHOD_ROLES: '{"switchyard.user.v1.UserService/ListUsers": ["admin"]}',
      },
    });
    gateway = connectReflection(stack.address('gateway'));
    http = `http://127.0.0.1:${stack.httpPort}`;
    const script = readmeTokenScript();
    admin = makeToken(script);
    viewer = makeToken(script.replace("roles: ['admin']", "roles: ['viewer']"));
  });

  afterAll(async () => {
    gateway?.close();
    await stack?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const call = async (method: string, path: string, headers: Record<string, string> = {}, body?: object) => {
    const response = await fetch(`${http}${path}`, {
      method,
      headers: body ? { 'content-type': 'application/json', ...headers } : headers,
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
  };

  it("runs docs/auth.md's curl example: public CreateUser, GetUser and ListUsers with the token, 401 without", async () => {
    expect(admin.split('.')).toHaveLength(3);
    const created = await call('POST', '/v1/users', {}, { name: 'Ada Lovelace', email: `ada-${Date.now()}@example.com` });
    expect(created.status).toBe(200);
    const id = (created.body.user as { id: string }).id;
    expect(await call('GET', `/v1/users/${id}`, { authorization: `Bearer ${admin}` })).toMatchObject({ status: 200, body: { user: { id } } });
    expect((await call('GET', '/v1/users?pageSize=2', { authorization: `Bearer ${admin}` })).status).toBe(200);

    const refused = await call('GET', `/v1/users/${id}`);
    expect(refused).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
    expect(refused.body.detail).toMatch(/a bearer token is required/);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="switchyard"');
    const forged = await call('GET', `/v1/users/${id}`, { authorization: 'Bearer not.a.token' });
    expect(forged.headers.get('www-authenticate')).toMatch(/^Bearer realm="switchyard", error="invalid_token", error_description="/);
  });

  it('answers 403 / PERMISSION_DENIED to ListUsers without the admin role', async () => {
    expect(await call('GET', '/v1/users', { authorization: `Bearer ${viewer}` })).toMatchObject({ status: 403, body: { code: 'PERMISSION_DENIED' } });
    const denied = (await gateway.invoke('switchyard.user.v1.UserService/ListUsers', {}, { metadata: { authorization: `Bearer ${viewer}` } }).catch((e: ServiceError) => e)) as ServiceError;
    expect(denied.code).toBe(Status.PERMISSION_DENIED);
  });

  it('checks gRPC callers the same way, and keeps health and reflection public', async () => {
    await expect(gateway.invoke('switchyard.user.v1.UserService/GetUser', { id: 'nobody' })).rejects.toMatchObject({ code: Status.UNAUTHENTICATED });
    await expect(gateway.invoke('switchyard.user.v1.UserService/GetUser', { id: 'nobody' }, { metadata: { authorization: `Bearer ${admin}` } })).rejects.toMatchObject({ code: Status.NOT_FOUND });
    expect(await gateway.listServices()).toEqual(expect.arrayContaining(['switchyard.user.v1.UserService', 'grpc.health.v1.Health']));
    expect(await checkHealth(stack.address('gateway'), '', 2000)).toBe('SERVING');
  });

  it('runs a gateway with no AUTH_* set open, and says so in a warning at start', async () => {
    const port = await freePort();
    const open = await stack.startApp('gateway', {
      GRPC_PORT: String(port),
      ADVERTISE_ADDRESS: `127.0.0.1:${port}`,
      AUTH_JWT_SECRET: '',
      AUTH_PUBLIC_METHODS: '',
      AUTH_METHOD_ROLES: '',
    });
    try {
      const warning = open.lines.map((line) => JSON.parse(line) as { level: number; msg: string }).find((line) => line.msg.startsWith('auth is off'));
      expect(warning).toMatchObject({ level: 40 });
      const unchecked = connectReflection(`127.0.0.1:${port}`);
      try {
        await expect(unchecked.invoke('switchyard.user.v1.UserService/GetUser', { id: 'nobody' })).rejects.toMatchObject({ code: Status.NOT_FOUND });
      } finally {
        unchecked.close();
      }
    } finally {
      await open.stop();
    }
  });
});
