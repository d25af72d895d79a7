// End to end: the BUILT stack with auth rules in AUTH_RULES_FILE, changed while the gateway runs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import { connectReflection, eventually, type ReflectionConnection } from '@switchyard/testing';
import { LocalStack } from './local-stack';

const workspaceRoot = resolve(__dirname, '../../..');
jest.setTimeout(60_000);

const SECRET = 'an e2e secret that is comfortably longer than 32 bytes';
const CREATE_USER = '/switchyard.user.v1.UserService/CreateUser';
const GET_USER = '/switchyard.user.v1.UserService/GetUser';

/** An HS256 token made in a child process: jose is ESM, which this jest setup does not load. */
async function token(roles: string[]): Promise<string> {
  const script = `import('jose').then(async ({ SignJWT }) => console.log(await new SignJWT({ roles: ${JSON.stringify(roles)} }).setProtectedHeader({ alg: 'HS256' }).setSubject('ada').setExpirationTime('10m').sign(new TextEncoder().encode(process.env.AUTH_JWT_SECRET))))`;
  return execFileSync(process.execPath, ['-e', script], { cwd: workspaceRoot, env: { PATH: process.env.PATH, AUTH_JWT_SECRET: SECRET }, encoding: 'utf8' }).trim();
}

describe('the gateway with AUTH_RULES_FILE', () => {
  let stack: LocalStack;
  let dataDir: string;
  let rulesFile: string;
  let gateway: ReflectionConnection;
  let http: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'switchyard-auth-rules-'));
    rulesFile = join(dataDir, 'auth-rules.json');
    writeFileSync(rulesFile, JSON.stringify({ publicMethods: [], methodRoles: {} }));
    stack = await LocalStack.start({ workspaceRoot, dataDir, extraEnv: { AUTH_JWT_SECRET: SECRET, AUTH_RULES_FILE: rulesFile } });
    gateway = connectReflection(stack.address('gateway'));
    http = `http://127.0.0.1:${stack.httpPort}`;
  });

  afterAll(async () => {
    gateway?.close();
    await stack?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const createUser = () =>
    fetch(`${http}/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Ada', email: `ada-${Date.now()}-${Math.random()}@example.com` }) });

  it('makes CreateUser public once the file lists it, without a restart', async () => {
    expect((await createUser()).status).toBe(401);
    writeFileSync(rulesFile, JSON.stringify({ publicMethods: [CREATE_USER] }));
    await eventually(async () => (await createUser()).status === 200, 15_000, 'CreateUser to become public');
  });

  it('enforces a role requirement a reload adds, over gRPC and HTTP', async () => {
    const viewer = { authorization: `Bearer ${await token(['viewer'])}` };
    const admin = { authorization: `Bearer ${await token(['admin'])}` };
    await expect(gateway.invoke('switchyard.user.v1.UserService/GetUser', { id: 'nobody' }, { metadata: viewer })).rejects.toMatchObject({ code: Status.NOT_FOUND });
    writeFileSync(rulesFile, JSON.stringify({ publicMethods: [CREATE_USER], methodRoles: { [GET_USER]: ['admin'] } }));
    await eventually(async () => (await fetch(`${http}/v1/users/nobody`, { headers: viewer })).status === 403, 15_000, 'GetUser to need admin');
    await expect(gateway.invoke('switchyard.user.v1.UserService/GetUser', { id: 'nobody' }, { metadata: viewer })).rejects.toMatchObject({ code: Status.PERMISSION_DENIED });
    await expect(gateway.invoke('switchyard.user.v1.UserService/GetUser', { id: 'nobody' }, { metadata: admin })).rejects.toMatchObject({ code: Status.NOT_FOUND });
  });

  it('keeps the rules in force when the file names a method the gateway does not serve', async () => {
    writeFileSync(rulesFile, JSON.stringify({ publicMethods: [CREATE_USER, GET_USER.replace('GetUser', 'DeleteUser')] }));
    const gatewayLines = () => stack.processes.filter((process) => process.options.app === 'gateway').flatMap((process) => process.lines);
    await eventually(async () => gatewayLines().some((line) => line.includes('auth rules file rejected') && line.includes('the gateway serves no method /switchyard.user.v1.UserService/DeleteUser')), 15_000, 'the bad file to be logged');
    expect(gatewayLines().filter((line) => line.includes('"auth rules reloaded"'))).toHaveLength(2);
    expect((await fetch(`${http}/v1/users/nobody`, { headers: { authorization: `Bearer ${await token(['viewer'])}` } })).status).toBe(403);
    expect((await createUser()).status).toBe(200);
  });
});
