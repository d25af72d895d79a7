// The built `switchyard` CLI (dist/libs/cli/switchyard.js) run as a user runs it, as a child
// process, against a real registry and user service started from their builds.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '@switchyard/testing';
import { LocalStack } from './local-stack';
import { waitFor } from './runner-process';

const workspaceRoot = resolve(__dirname, '../../..');
const cliPath = join(workspaceRoot, 'dist', 'libs', 'cli', 'switchyard.js');
jest.setTimeout(60_000);

interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

describe('switchyard CLI', () => {
  let stack: LocalStack;
  let dataDir: string;
  // Where the CLI runs: no ./data/registry-token unless a test writes one.
  let cwd: string;
  const children: ChildProcess[] = [];
  const runs: CliRun[] = [];

  const startCli = (args: string[], env: Record<string, string> = {}, dir = cwd) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: dir, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const run: CliRun = { code: null, signal: null, stdout: '', stderr: '' };
    runs.push(run);
    child.stdout?.on('data', (chunk: Buffer) => (run.stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (run.stderr += chunk.toString()));
    const exited = new Promise<CliRun>((done) =>
      child.on('close', (code, signal) => {
        run.code = code;
        run.signal = signal;
        done(run);
      }),
    );
    return { child, run, exited };
  };
  const cli = (args: string[], env: Record<string, string> = {}, dir = cwd) => startCli(args, env, dir).exited;
  const withToken = () => ({ REGISTRY_ADDRESS: stack.address('registry'), REGISTRY_TOKEN: stack.registryToken });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'switchyard-cli-'));
    cwd = mkdtempSync(join(tmpdir(), 'switchyard-cli-cwd-'));
    stack = await LocalStack.prepare({ workspaceRoot, dataDir, hostNames: 'loopback' });
    await stack.startApp('registry');
    await stack.startApp('user');
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await stack?.stop();
    for (const dir of [dataDir, cwd]) if (dir) rmSync(dir, { recursive: true, force: true });
    // No output of any run, error or not, shows the token.
    for (const run of runs) expect(run.stdout + run.stderr).not.toContain(stack.registryToken);
  });

  it('services: a table by default, one JSON document with --json', async () => {
    const table = await cli(['services'], withToken());
    expect(table).toMatchObject({ code: 0, stderr: '' });
    expect(table.stdout.split('\n')[0]).toMatch(/^SERVICE\s+INSTANCES$/);
    expect(table.stdout).toMatch(/^user\s+1$/m);

    const json = await cli(['services', '--json'], withToken());
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).services).toEqual(expect.arrayContaining([{ service: 'user', instances: 1 }]));
  });

  it('instances: address, version, state, zone and lease of each instance', async () => {
    const table = await cli(['instances', 'user'], withToken());
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+ADDRESS\s+VERSION\s+STATE\s+ZONE\s+REGISTERED\s+LEASE EXPIRES$/);
    expect(table.stdout).toContain(stack.advertisedAddress('user'));
    expect(table.stdout).toMatch(/SERVING .*s ago\s+in \d+\.\ds$/m);

    const json = await cli(['instances', 'user', '--json'], withToken());
    const { instances } = JSON.parse(json.stdout);
    expect(instances).toHaveLength(1);
    expect(instances[0]).toMatchObject({ service: 'user', address: stack.advertisedAddress('user'), state: 'SERVING' });
    expect(instances[0].leaseExpiresInSeconds).toBeGreaterThan(0);
    expect(Date.parse(instances[0].registerTime)).toBeLessThanOrEqual(Date.now());
  });

  it('tries the registries of --registry in order', async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const run = await cli(['services', '--json', '--registry', `${dead},${stack.address('registry')}`, '--timeout', '3s'], { REGISTRY_TOKEN: stack.registryToken });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).services).toEqual(expect.arrayContaining([{ service: 'user', instances: 1 }]));
  });

  it('watch: prints the snapshot, a registration and a deregistration, and exits 0 on SIGINT', async () => {
    const watch = startCli(['watch', 'user', '--json'], withToken());
    const events = () => watch.run.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));
    await waitFor('the snapshot', () => events().some((event) => event.type === 'SNAPSHOT'), 15_000);
    expect(events()[0]).toMatchObject({ type: 'SNAPSHOT', service: 'user', instances: [{ address: stack.advertisedAddress('user') }] });

    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const extra = await stack.startApp('user', { GRPC_PORT: String(port), ADVERTISE_ADDRESS: address });
    await waitFor('the registration', () => events().some((event) => event.type === 'UPSERT' && event.instances[0]?.address === address), 15_000);
    await extra.stop('SIGTERM');
    await waitFor('the deregistration', () => events().some((event) => event.type === 'REMOVE' && event.instances[0]?.address === address), 15_000);

    watch.child.kill('SIGINT');
    const run = await watch.exited;
    expect(run).toMatchObject({ code: 0, signal: null, stderr: '' });
  });

  it('health: the server and each service it lists, SERVING', async () => {
    const table = await cli(['health', stack.address('user')]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^\(server\)\s+SERVING$/m);
    expect(table.stdout).toMatch(/^switchyard\.user\.v1\.UserService\s+SERVING$/m);

    const json = JSON.parse((await cli(['health', stack.address('user'), '--json'])).stdout);
    expect(json).toMatchObject({ address: stack.address('user'), healthy: true });
    expect(json.services).toEqual(expect.arrayContaining([{ service: 'switchyard.user.v1.UserService', status: 'SERVING' }]));

    const nobody = `127.0.0.1:${await freePort()}`;
    const unreachable = await cli(['health', nobody, '--timeout', '2s']);
    expect(unreachable).toMatchObject({ code: 1, stdout: '' });
    expect(unreachable.stderr.trim()).toMatch(new RegExp(`^switchyard: health ${nobody}: listing services by reflection: UNAVAILABLE: .*ECONNREFUSED[^\\n]*$`));
  });

  it('call: CreateUser then GetUser with JSON through reflection', async () => {
    const created = await cli(['call', stack.address('user'), 'switchyard.user.v1.UserService/CreateUser', '{"name":"Ada","email":"ada@example.com"}', '--json']);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const { user } = JSON.parse(created.stdout);
    expect(user).toMatchObject({ name: 'Ada', email: 'ada@example.com' });

    const fetched = await cli(['call', stack.address('user'), 'switchyard.user.v1.UserService/GetUser', JSON.stringify({ id: user.id })]);
    expect(fetched.code).toBe(0);
    expect(JSON.parse(fetched.stdout).user).toEqual(user);
  });

  it('call: a bad method or bad JSON is a clear one-line error with its exit code', async () => {
    const noMethod = await cli(['call', stack.address('user'), 'switchyard.user.v1.UserService/Nope', '{}']);
    expect(noMethod).toMatchObject({ code: 1, stdout: '' });
    expect(noMethod.stderr.trim()).toMatch(/^switchyard: call switchyard\.user\.v1\.UserService\/Nope: UNIMPLEMENTED: .*Nope/);

    const noService = await cli(['call', stack.address('user'), 'switchyard.user.v1.Nowhere/GetUser', '{}']);
    expect(noService.code).toBe(1);
    expect(noService.stderr).toMatch(/^switchyard: call switchyard\.user\.v1\.Nowhere\/GetUser: .*NOT_FOUND/);

    const notJson = await cli(['call', stack.address('user'), 'switchyard.user.v1.UserService/GetUser', '{id:']);
    expect(notJson).toMatchObject({ code: 2, stdout: '' });
    expect(notJson.stderr).toMatch(/^switchyard: call: the request is not JSON/);

    const badField = await cli(['call', stack.address('user'), 'switchyard.user.v1.UserService/GetUser', '{"nope":1}']);
    expect(badField.code).toBe(1);
    expect(badField.stderr).toMatch(/^switchyard: call switchyard\.user\.v1\.UserService\/GetUser: .*nope/);

    const usage = await cli(['call', stack.address('user')]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/call takes <address> <method> <json>/);
  });

  it('without a token: UNAUTHENTICATED, pointing at --token and REGISTRY_TOKEN', async () => {
    const run = await cli(['services'], { REGISTRY_ADDRESS: stack.address('registry') });
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/UNAUTHENTICATED: .*--token.*REGISTRY_TOKEN/);
  });

  it('a bad flag, address, variable or TLS setting is a usage error (exit 2) naming it, and calls nothing', async () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['services', '--bogus'], {}, /--bogus/],
      [['services', '--registry', 'no-port'], {}, /--registry: "no-port" is not host:port/],
      [['services'], { REGISTRY_ADDRESS: 'a:1,nope' }, /REGISTRY_ADDRESS="a:1,nope": expected host:port\[,host:port\]/],
      [['services', '--timeout', 'soon'], {}, /--timeout: "soon" is not a duration/],
      [['services', '--cacert', join(cwd, 'missing.crt')], {}, /TLS .*TLS_CERT=\(unset\)/],
      [['services'], { REGISTRY_TOKEN_FILE: join(cwd, 'missing-token') }, /REGISTRY_TOKEN_FILE: cannot read .*missing-token \(ENOENT\)/],
      [['instances'], {}, /instances takes <service>, got 0 argument\(s\)/],
      [['frobnicate'], {}, /unknown command "frobnicate"/],
    ];
    for (const [args, env, message] of cases) {
      const run = await cli(args, env);
      expect([args, run.code, run.stdout]).toEqual([args, 2, '']);
      expect(run.stderr).toMatch(message);
    }
  });

  it('--help per command exits 0 with its usage', async () => {
    for (const command of ['services', 'instances', 'watch', 'health', 'call']) {
      const run = await cli([command, '--help']);
      expect([command, run.code]).toEqual([command, 0]);
      expect(run.stdout).toContain(`Usage: switchyard ${command}`);
      expect(run.stdout).toContain('--registry');
    }
  });

  it('reads the token from REGISTRY_TOKEN_FILE, else ./data/registry-token', async () => {
    const tokenFile = join(dataDir, 'cli-token');
    writeFileSync(tokenFile, `${stack.registryToken}\n`);
    const fromFile = await cli(['services', '--json'], { REGISTRY_ADDRESS: stack.address('registry'), REGISTRY_TOKEN_FILE: tokenFile });
    expect(fromFile.code).toBe(0);

    const checkout = mkdtempSync(join(tmpdir(), 'switchyard-cli-checkout-'));
    try {
      mkdirSync(join(checkout, 'data'));
      writeFileSync(join(checkout, 'data', 'registry-token'), stack.registryToken);
      const fromCheckout = await cli(['services', '--json', '--registry', stack.address('registry')], {}, checkout);
      expect(fromCheckout.code).toBe(0);
      // --token wins over the file.
      const flagWins = await cli(['services', '--registry', stack.address('registry'), '--token', 'wrong'], {}, checkout);
      expect(flagWins.code).toBe(1);
      expect(flagWins.stderr).toMatch(/UNAUTHENTICATED|PERMISSION_DENIED/);
    } finally {
      rmSync(checkout, { recursive: true, force: true });
    }
  });
});
