// End to end with mutual TLS: certificates made by the built `npm run certs` script, the BUILT
// apps as processes with docker-compose.tls.yml's TLS_CERT, TLS_KEY and TLS_CA (compose's addresses, so each app dials the
// registry as `registry:<port>` and its peers as `registry:///<service>`), and calls through the
// gateway with and without a client certificate, from grpc-js and from grpcurl.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { credentials, Metadata, status as Status, type ChannelCredentials, type Client, type ServiceError } from '@grpc/grpc-js';
import { gatewayV1, registryV1, userV1 } from '@switchyard/proto';
import { eventually, findGrpcurl, runGrpcurl } from '@switchyard/testing';
import { parse } from 'yaml';
import type { App } from './compose-environment';
import { AppProcess } from './app-process';
import { LocalStack } from './local-stack';

const workspaceRoot = resolve(__dirname, '../../..');
jest.setTimeout(90_000);

describe('mutual TLS between the apps', () => {
  let stack: LocalStack;
  let dir: string;
  let certs: string;
  let script: { first: string; second: string };
  const clients: Client[] = [];
  // docker-compose.tls.yml's variables, its /certs mount being this test's directory.
  const composeTls = parse(readFileSync(join(workspaceRoot, 'docker-compose.tls.yml'), 'utf8')) as { services: Record<App, { environment: Record<string, string> }> };
  const tlsEnv = (app: App) =>
    Object.fromEntries(Object.entries(composeTls.services[app].environment).map(([key, value]) => [key, value.replace(/^\/certs\//, `${certs}/`)]));
  const asClient = (name: string): ChannelCredentials =>
    credentials.createSsl(readFileSync(join(certs, 'ca.crt')), readFileSync(join(certs, `${name}.key`)), readFileSync(join(certs, `${name}.crt`)));
  // The registry reads need the fleet's token (LocalStack makes one per run), as they do under npm start.
  const withToken = () => {
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${stack.registryToken}`);
    return metadata;
  };
  const unary = <Response>(client: Client, method: string, request: unknown, metadata = new Metadata()): Promise<Response> =>
    new Promise((done, fail) =>
      (client as unknown as Record<string, (...args: unknown[]) => void>)[method]!(request, metadata, { deadline: Date.now() + 5000 }, (error: ServiceError | null, response: Response) =>
        error ? fail(error) : done(response),
      ),
    );
  const gatewayWith = (channelCredentials: ChannelCredentials) => {
    const client = new gatewayV1.GatewayServiceClient(stack.address('gateway'), channelCredentials);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-mtls-e2e-'));
    certs = join(dir, 'certs');
    const makeCerts = () => execFileSync(process.execPath, [join(workspaceRoot, 'dist/libs/devstack/make-certs.js'), '--dir', certs], { encoding: 'utf8' });
    script = { first: makeCerts(), second: makeCerts() };
    stack = await LocalStack.prepare({ workspaceRoot, dataDir: join(dir, 'data') });
    try {
      // The start order of npm start, each app with its own certificate.
      const steps: App[][] = [['registry'], ['user', 'order'], ['gateway']];
      for (const step of steps) await Promise.all(step.map((app) => stack.startApp(app, tlsEnv(app))));
    } catch (error) {
      await stack.stop();
      throw error;
    }
  });

  afterAll(async () => {
    clients.forEach((client) => client.close());
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('npm run certs makes a CA and a certificate per app, and keeps them when run again', () => {
    for (const name of ['ca', 'registry', 'user', 'order', 'gateway', 'client']) expect(script.first).toContain(`made ${join(certs, `${name}.crt`)}`);
    expect(script.second).not.toContain('made ');
    expect(script.second).toContain(`kept ${join(certs, 'user.crt')}`);
  });

  it('registers every app and serves a call through the gateway to user and order', async () => {
    const registry = new registryV1.RegistryServiceClient(stack.address('registry'), asClient('client'));
    clients.push(registry);
    for (const service of ['user', 'order', 'gateway']) {
      await eventually(async () => {
        const resolved = await unary<registryV1.ResolveResponse>(registry, 'resolve', registryV1.ResolveRequest.fromPartial({ serviceName: service }), withToken());
        return resolved.instances.length > 0 || undefined;
      }, 10_000, `${service} registered over mTLS`);
    }
    const user = new userV1.UserServiceClient(stack.address('user'), asClient('client'));
    clients.push(user);
    const created = await unary<userV1.CreateUserResponse>(user, 'createUser', userV1.CreateUserRequest.fromPartial({ name: 'Ada', email: `ada-${Date.now()}@example.com` }));
    const aggregate = await unary<gatewayV1.GetUserWithOrdersResponse>(
      gatewayWith(asClient('client')),
      'getUserWithOrders',
      gatewayV1.GetUserWithOrdersRequest.fromPartial({ userId: created.user!.id }),
    );
    expect(aggregate.user?.id).toBe(created.user!.id);
    expect(aggregate.partialFailures).toEqual([]);
    for (const app of stack.processes) {
      const serving = app.lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { msg?: string; mutual_tls?: boolean }).find((line) => line.msg === `${app.options.app} serving`);
      expect(serving?.mutual_tls).toBe(true);
    }
  });

  it("serves HTTP through the gateway, whose own calls to its gRPC port present its certificate", async () => {
    const user = new userV1.UserServiceClient(stack.address('user'), asClient('client'));
    clients.push(user);
    const created = await unary<userV1.CreateUserResponse>(user, 'createUser', userV1.CreateUserRequest.fromPartial({ name: 'Grace', email: `grace-${Date.now()}@example.com` }));
    const response = await fetch(`http://127.0.0.1:${stack.httpPort}/v1/users/${created.user!.id}:withOrders`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { user: { id: string } }).user.id).toBe(created.user!.id);
  });

  it('lets a certificate register only the service it names, even with the fleet token', async () => {
    const registryAs = (name: string) => {
      const client = new registryV1.RegistryServiceClient(stack.address('registry'), asClient(name));
      clients.push(client);
      return client;
    };
    const register = (client: registryV1.RegistryServiceClient, serviceName: string) =>
      new Promise<registryV1.RegisterResponse>((done, fail) =>
        client.register(registryV1.RegisterRequest.fromPartial({ serviceName, address: '127.0.0.1:1', version: 'attacker' }), withToken(), { deadline: Date.now() + 5000 }, (error, response) =>
          error ? fail(error) : done(response),
        ),
      );
    const resolveUser = (client: registryV1.RegistryServiceClient) =>
      new Promise<registryV1.ResolveResponse>((done, fail) =>
        client.resolve({ serviceName: 'user' }, withToken(), { deadline: Date.now() + 5000 }, (error, response) => (error ? fail(error) : done(response))),
      );

    // order's certificate and the fleet token: not enough to pose as user.
    await expect(register(registryAs('order'), 'user')).rejects.toMatchObject({ code: Status.PERMISSION_DENIED, details: expect.stringContaining('a certificate naming order') });
    // grpcurl's certificate names no service at all.
    await expect(register(registryAs('client'), 'user')).rejects.toMatchObject({ code: Status.PERMISSION_DENIED });
    expect((await resolveUser(registryAs('client'))).instances.map((instance) => instance.version)).not.toContain('attacker');

    // user's own certificate may register user.
    const own = await register(registryAs('user'), 'user');
    expect(own.instance?.serviceName).toBe('user');
    await new Promise<void>((done, fail) =>
      registryAs('user').deregister({ instanceId: own.instance!.instanceId, leaseSecret: own.leaseSecret }, withToken(), (error) => (error ? fail(error) : done())),
    );
  });

  it('refuses a caller without a client certificate, and a plaintext caller', async () => {
    const request = gatewayV1.GetUserWithOrdersRequest.fromPartial({ userId: 'anyone' });
    const ca = readFileSync(join(certs, 'ca.crt'));
    await expect(unary(gatewayWith(credentials.createSsl(ca)), 'getUserWithOrders', request)).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    await expect(unary(gatewayWith(credentials.createInsecure()), 'getUserWithOrders', request)).rejects.toMatchObject({ code: Status.UNAVAILABLE });
  });

  it('stops an app whose key is not its certificate\'s with exit code 2, naming TLS_KEY; no app ever prints a key', async () => {
    const env = stack.environmentFor('user', { ...tlsEnv('user'), GRPC_PORT: '0', TLS_KEY: join(certs, 'order.key') });
    const mismatched = new AppProcess({ workspaceRoot, app: 'user', env });
    const { code } = await mismatched.exited;
    expect(code).toBe(2);
    expect(mismatched.lines.join('\n')).toContain(`TLS_KEY="${join(certs, 'order.key')}": not the private key of TLS_CERT`);
    const keyLines = ['registry', 'user', 'order', 'gateway', 'client'].flatMap((name) =>
      readFileSync(join(certs, `${name}.key`), 'utf8')
        .split('\n')
        .filter((line) => line.length > 0 && !line.startsWith('-----')),
    );
    const output = [...stack.processes, mismatched].flatMap((p) => p.lines).join('\n');
    expect(keyLines.length).toBeGreaterThan(0);
    expect(keyLines.filter((line) => output.includes(line))).toEqual([]);
  });

  it('the switchyard CLI reads the registry and calls user with --cacert --cert --key, and is refused without them', () => {
    const cli = (args: string[], env: Record<string, string> = {}) =>
      spawnSync(process.execPath, [join(workspaceRoot, 'dist/libs/cli/switchyard.js'), ...args], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', REGISTRY_TOKEN: stack.registryToken, ...env },
        encoding: 'utf8',
        timeout: 30_000,
      });
    const tlsFlags = ['--cacert', join(certs, 'ca.crt'), '--cert', join(certs, 'client.crt'), '--key', join(certs, 'client.key')];
    const services = cli(['services', '--json', '--registry', stack.address('registry'), ...tlsFlags]);
    expect([services.status, services.stderr]).toEqual([0, '']);
    expect(JSON.parse(services.stdout).services).toEqual(expect.arrayContaining([{ service: 'user', instances: 1 }]));

    // The same files from TLS_CA, TLS_CERT and TLS_KEY.
    const tlsEnv = { TLS_CA: join(certs, 'ca.crt'), TLS_CERT: join(certs, 'client.crt'), TLS_KEY: join(certs, 'client.key') };
    const health = cli(['health', stack.address('user'), '--json'], tlsEnv);
    expect(health.status).toBe(0);
    expect(JSON.parse(health.stdout)).toMatchObject({ healthy: true });

    const plaintext = cli(['services', '--registry', stack.address('registry'), '--timeout', '3s']);
    expect(plaintext.status).toBe(1);
    expect(plaintext.stderr).toMatch(/^switchyard: ListServices .*: UNAVAILABLE/);
  });

  it('grpcurl calls the gateway with -cacert -cert -key, and is refused without -cert (skipped without a grpcurl binary)', async () => {
    if (!findGrpcurl()) {
      process.stdout.write('skipped: grpcurl not found (set GRPCURL or put it at ../shared/tools/grpcurl)\n');
      return;
    }
    const address = stack.address('gateway');
    const tls = ['-cacert', join(certs, 'ca.crt'), '-cert', join(certs, 'client.crt'), '-key', join(certs, 'client.key')];
    const list = await runGrpcurl([...tls, address, 'list']);
    expect(list).toMatchObject({ code: 0, stdout: expect.stringContaining('switchyard.gateway.v1.GatewayService') });
    const missing = await runGrpcurl([...tls, '-d', '{"user_id": "nobody"}', address, 'switchyard.gateway.v1.GatewayService/GetUserWithOrders']);
    expect(missing.stderr).toContain('NotFound');
    // Refused connections are retried until the connect timeout: 3 s rather than grpcurl's 10.
    const withoutCertificate = await runGrpcurl(['-connect-timeout', '3', '-cacert', join(certs, 'ca.crt'), address, 'list']);
    expect(withoutCertificate.code).not.toBe(0);
    const plaintext = await runGrpcurl(['-connect-timeout', '3', '-plaintext', address, 'list']);
    expect(plaintext.code).not.toBe(0);
  });
});
