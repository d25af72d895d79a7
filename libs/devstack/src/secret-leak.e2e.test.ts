// No secret reaches a log line, a span or an error message: the BUILT apps run with known secret
// values (a registry token, a DATABASE_URL with a password in its userinfo and as ?password=, a
// lease secret handed out and one guessed),
// serve calls through the gateway, fail to start on a bad or unreachable database, and every line
// they wrote and every span they exported is searched for each secret.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import { connectReflection, startOtlpReceiver, type OtlpReceiver, type ReflectionConnection } from '@switchyard/testing';
import { AppProcess } from './app-process';
import { LocalStack } from './local-stack';
import { createScratchDatabase } from './postgres-database';

const workspaceRoot = resolve(__dirname, '../../..');
jest.setTimeout(90_000);

// The secrets the apps are given. PostgreSQL at 127.0.0.1:5432 trusts local connections, so it
// ignores the passwords.
const SECRETS = {
  REGISTRY_TOKEN: 'registry-token-8c1f2e7a',
  DATABASE_URL_USERINFO_PASSWORD: 'db-userinfo-pw-5d93b1',
  DATABASE_URL_QUERY_PASSWORD: 'db-query-pw-e07a44',
};

/**
 * Every secret the scan looks for: those above, and those learned while the apps run (push
 * them, e.g. a secret a Register answer hands out).
 */
const secretsToFind: { name: string; value: string }[] = Object.entries(SECRETS).map(([name, value]) => ({ name, value }));

/** Each secret that occurs in `text`, with the first place it occurs. */
function leaksIn(source: string, text: string): string[] {
  return secretsToFind.flatMap(({ name, value }) => {
    const at = text.indexOf(value);
    return at < 0 ? [] : [`${name} in ${source}: ...${text.slice(Math.max(0, at - 120), at + value.length + 40)}...`];
  });
}

const asJson = (value: unknown) => JSON.stringify(value, (_key, inner: unknown) => (typeof inner === 'bigint' ? inner.toString() : inner));

describe('secrets never leak', () => {
  let stack: LocalStack;
  let receiver: OtlpReceiver;
  let database: { url: string; drop: () => Promise<void> };
  let dataDir: string;
  const clients: ReflectionConnection[] = [];
  const extraProcesses: AppProcess[] = [];

  /** The scratch database's URL with both passwords in it. */
  const secretDatabaseUrl = (base: string) => {
    const url = new URL(base);
    url.password = SECRETS.DATABASE_URL_USERINFO_PASSWORD;
    url.searchParams.set('password', SECRETS.DATABASE_URL_QUERY_PASSWORD);
    return url.toString();
  };

  beforeAll(async () => {
    database = await createScratchDatabase('switchyard_secrets');
    receiver = await startOtlpReceiver();
    dataDir = mkdtempSync(join(tmpdir(), 'switchyard-secrets-'));
    stack = await LocalStack.start({
      workspaceRoot,
      dataDir,
      databaseUrl: secretDatabaseUrl(database.url),
      otlpEndpoint: receiver.endpoint,
      // Debug: heartbeats and every outgoing attempt log too.
      extraEnv: { OTEL_BSP_SCHEDULE_DELAY: '200', LOG_LEVEL: 'debug', REGISTRY_TOKEN: SECRETS.REGISTRY_TOKEN },
    });
  });

  afterAll(async () => {
    clients.forEach((client) => client.close());
    await Promise.all(extraProcesses.map((p) => p.stop('SIGKILL')));
    await stack?.stop();
    await receiver?.stop();
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('in no log line, span or start-up error of the apps', async () => {
    const connect = (address: string) => {
      const client = connectReflection(address);
      clients.push(client);
      return client;
    };
    const user = connect(stack.address('user'));
    const order = connect(stack.address('order'));
    const gateway = connect(stack.address('gateway'));
    const registry = connect(stack.address('registry'));
    const created = (await user.invoke('switchyard.user.v1.UserService/CreateUser', { name: 'Grace Hopper', email: `grace-${Date.now()}@example.com` })).json as {
      user: { id: string };
    };
    await order.invoke('switchyard.order.v1.OrderService/CreateOrder', {
      userId: created.user.id,
      items: [{ sku: 'compiler', quantity: 1, unitPriceCents: '100' }],
      requestId: `secrets-${created.user.id}`,
    });
    await gateway.invoke('switchyard.gateway.v1.GatewayService/GetUserWithOrders', { userId: created.user.id });
    await expect(gateway.invoke('switchyard.gateway.v1.GatewayService/GetUserWithOrders', { userId: 'missing' })).rejects.toMatchObject({ code: Status.NOT_FOUND });
    // A stranger's Register: refused, and the refusal names no token.
    await expect(
      registry.invoke('switchyard.registry.v1.RegistryService/Register', { serviceName: 'user', address: '127.0.0.1:1' }),
    ).rejects.toMatchObject({ code: Status.UNAUTHENTICATED });
    // An instance of the test's own: the lease secret its Register answer hands out, used to
    // heartbeat and deregister, and a guessed secret that is refused; neither may be echoed.
    const withToken = { metadata: { authorization: `Bearer ${SECRETS.REGISTRY_TOKEN}` } };
    const registered = (await registry.invoke('switchyard.registry.v1.RegistryService/Register', { serviceName: 'probe', address: '127.0.0.1:9', version: '1' }, withToken)).json as {
      instance: { instanceId: string };
      leaseSecret: string;
    };
    expect(registered.leaseSecret.length).toBeGreaterThanOrEqual(22);
    const guessed = 'guessed-lease-secret-41b7c2';
    secretsToFind.push({ name: 'LEASE_SECRET', value: registered.leaseSecret }, { name: 'GUESSED_LEASE_SECRET', value: guessed });
    const instanceId = registered.instance.instanceId;
    await registry.invoke('switchyard.registry.v1.RegistryService/Heartbeat', { instanceId, leaseSecret: registered.leaseSecret }, withToken);
    await expect(registry.invoke('switchyard.registry.v1.RegistryService/Deregister', { instanceId, leaseSecret: guessed }, withToken)).rejects.toMatchObject({
      code: Status.PERMISSION_DENIED,
    });
    await registry.invoke('switchyard.registry.v1.RegistryService/Deregister', { instanceId, leaseSecret: registered.leaseSecret }, withToken);
    await receiver.waitForSpans((spans) => spans.some((s) => s.name === 'switchyard.gateway.v1.GatewayService/GetUserWithOrders' && s.kindName === 'SERVER'), 10_000);

    // Start-up failures: a DATABASE_URL that is not a postgres URL (a config error) and one whose
    // server is unreachable (a connect error); both carry the passwords.
    const unreachable = new URL(secretDatabaseUrl(database.url));
    unreachable.port = '1';
    const notPostgres = `mysql://app:${SECRETS.DATABASE_URL_USERINFO_PASSWORD}@db/app?password=${SECRETS.DATABASE_URL_QUERY_PASSWORD}`;
    for (const databaseUrl of [notPostgres, unreachable.toString()]) {
      const failing = new AppProcess({ workspaceRoot, app: 'user', env: stack.environmentFor('user', { GRPC_PORT: '0', DATABASE_URL: databaseUrl }) });
      extraProcesses.push(failing);
      const { code } = await failing.exited;
      expect(code).not.toBe(0);
      expect(failing.lines.join('\n')).toContain('DATABASE_URL');
    }

    await stack.stop();
    const processes = [...stack.processes, ...extraProcesses];
    const leaks = processes.flatMap((p, index) => leaksIn(`${p.options.app} #${index} output`, p.lines.join('\n')));
    leaks.push(...receiver.spans.flatMap((span) => leaksIn(`span ${span.name} of ${String(span.resource['service.name'])}`, asJson(span))));
    expect(leaks).toEqual([]);
    // The scan saw real output: lines from every app and spans from the calls.
    expect(new Set(stack.processes.filter((p) => p.lines.length > 0).map((p) => p.options.app))).toEqual(new Set(['registry', 'user', 'order', 'gateway']));
    expect(processes.flatMap((p) => p.lines).some((line) => line.includes('database ready'))).toBe(true);
    expect(receiver.spans.length).toBeGreaterThan(5);
  });
});
