import { credentials, Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { registryV1, userV1 } from '@switchyard/proto';
import { defineService, registerRegistryResolver, startRegistration, statusError, type Registration, type RegistryResolverRegistration } from '@switchyard/runtime';
import { startTestServer, type TestServer } from '@switchyard/testing';
import pino from 'pino';
import { eventually } from '@switchyard/testing';
import { startRegistry, type TestRegistry } from './registry-server.test-support';

const logger = pino({ level: 'silent' });

/** A UserService (test stub) whose GetUser answers with the port that served it. */
function portEchoingUserService(port: () => number) {
  const unused = async () => {
    throw new Error('not used');
  };
  return defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
    async getUser(request) {
      return { user: { id: request.id, name: String(port()), email: 'stub@example.com', createTime: new Date(0), orderCount: 0, totalSpentCents: 0 } };
    },
    createUser: unused,
    batchGetUsers: unused,
    listUsers: unused,
  });
}

async function startUserServer(): Promise<TestServer> {
  let port = 0;
  const server = await startTestServer([portEchoingUserService(() => port)]);
  port = server.port;
  return server;
}

function getUser(client: userV1.UserServiceClient): Promise<string> {
  return new Promise((resolve, reject) =>
    client.getUser({ id: 'u1' }, new Metadata(), { deadline: Date.now() + 10_000 }, (error: ServiceError | null, response: userV1.GetUserResponse) =>
      error ? reject(error) : resolve(response.user!.name),
    ),
  );
}

async function servedBy(client: userV1.UserServiceClient, calls: number): Promise<string[]> {
  const ports: string[] = [];
  for (let i = 0; i < calls; i += 1) ports.push(await getUser(client));
  return ports;
}

describe('registry:/// resolver', () => {
  let registry: TestRegistry;
  let resolver: RegistryResolverRegistration;
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    registry = await startRegistry({ sweepIntervalMs: 50 });
    resolver = registerRegistryResolver({ registryAddresses: [registry.address], logger });
  });
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    resolver.close();
    registry.stop();
  });

  const register = (server: TestServer): Registration => {
    const registration = startRegistration({ registryAddresses: [registry.address], serviceName: 'user', address: server.address, version: '1', logger });
    cleanups.push(() => registration.stop());
    return registration;
  };

  it('round-robins across SERVING instances without any channel option, and drops one that deregisters', async () => {
    const [a, b] = await Promise.all([startUserServer(), startUserServer()]);
    cleanups.push(() => a.stop(), () => b.stop());
    const ra = register(a);
    const rb = register(b);
    await Promise.all([ra.registered, rb.registered]);

    const client = new userV1.UserServiceClient('registry:///user', credentials.createInsecure());
    cleanups.push(() => client.close());
    // The watch may deliver the second instance a moment after the first.
    await eventually(async () => new Set(await servedBy(client, 4)).size === 2, 10_000, 'both instances in use');
    const ports = await servedBy(client, 6);
    expect(new Set(ports)).toEqual(new Set([String(a.port), String(b.port)]));
    // round_robin alternates; pick_first (grpc-js's default) would use one port only
    for (let i = 1; i < ports.length; i += 1) expect(ports[i]).not.toBe(ports[i - 1]);

    await ra.stop();
    await eventually(async () => (await servedBy(client, 4)).every((port) => port === String(b.port)), 10_000, 'traffic to b only');

    // A DRAINING instance gets no new calls: with none SERVING, calls fail fast and say why.
    await rb.setState(registryV1.InstanceState.INSTANCE_STATE_DRAINING);
    const error = await eventually(
      () => getUser(client).then(
        () => undefined,
        (failure: ServiceError) => failure,
      ),
      10_000,
      'calls to fail',
    );
    expect(error.code).toBe(Status.UNAVAILABLE);
    expect(error.details).toContain(`no SERVING instances of 'user' in the registry at ${registry.address}`);

    await rb.setState(registryV1.InstanceState.INSTANCE_STATE_SERVING);
    await eventually(() => getUser(client).then((port) => port === String(b.port)), 10_000, 'b to serve again');
  });

  it('fails calls with UNAVAILABLE naming the registry when it was never reachable', async () => {
    const unreachable = registerRegistryResolver({ registryAddresses: ['127.0.0.1:1'], logger });
    const client = new userV1.UserServiceClient('registry:///user', credentials.createInsecure());
    try {
      const error = await getUser(client).then(
        () => undefined,
        (failure: ServiceError) => failure,
      );
      expect(error?.code).toBe(Status.UNAVAILABLE);
      expect(error?.details).toContain("cannot resolve 'user': the registry at 127.0.0.1:1 is unreachable");
    } finally {
      client.close();
      unreachable.close();
      resolver = registerRegistryResolver({ registryAddresses: [registry.address], logger }); // restore for other tests
    }
  });

  it('leaves dns:/// and plain host:port targets to grpc-js', async () => {
    const server = await startUserServer();
    cleanups.push(() => server.stop());
    for (const target of [`dns:///${server.address}`, server.address]) {
      const client = new userV1.UserServiceClient(target, credentials.createInsecure());
      try {
        expect(await getUser(client)).toBe(String(server.port));
      } finally {
        client.close();
      }
    }
  });
});

describe('registry:/// resolver outlier ejection', () => {
  it('ejects an instance whose calls keep failing, so its share goes to the healthy one', async () => {
    const registry = await startRegistry({ sweepIntervalMs: 50 });
    const resolver = registerRegistryResolver({ registryAddresses: [registry.address], logger });
    const sick = await startTestServer([
      defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
        async getUser() {
          throw statusError(Status.INTERNAL, 'this instance is sick');
        },
        createUser: async () => ({ user: undefined }),
        batchGetUsers: async () => ({ users: [] }),
        listUsers: async () => ({ users: [], nextPageToken: '' }),
      }),
    ]);
    const healthy = await startUserServer();
    const registrations = [sick, healthy].map((server) =>
      startRegistration({ registryAddresses: [registry.address], serviceName: 'sick-and-healthy', address: server.address, version: '1', logger }),
    );
    const client = new userV1.UserServiceClient('registry:///sick-and-healthy', credentials.createInsecure());
    try {
      await Promise.all(registrations.map((r) => r.registered));
      // Round robin alone alternates, so a run of 40 successes only happens once the sick one is out.
      let failures = 0;
      let consecutive = 0;
      await eventually(
        async () => {
          const ok = await getUser(client).then(
            () => true,
            () => false,
          );
          if (!ok) failures += 1;
          consecutive = ok ? consecutive + 1 : 0;
          return consecutive >= 40;
        },
        20_000,
        'the sick instance ejected',
      );
      expect(failures).toBeGreaterThan(0);
    } finally {
      client.close();
      await Promise.all(registrations.map((r) => r.stop()));
      sick.stop();
      healthy.stop();
      resolver.close();
      registry.stop();
    }
  });
});
