import { status as Status } from '@grpc/grpc-js';
import { userV1 } from '@switchyard/proto';
import { callUnary, createClientFactory, createLogger, createPeerClients, defineService, loadServiceConfig, RpcMetrics, startRegistration, startTelemetry, statusError } from '@switchyard/runtime';
import { eventually, startTestServer } from '@switchyard/testing';
import pino from 'pino';
import { startRegistry } from './registry-server.test-support';

const silent = pino({ level: 'silent' });

/** A user service whose every GetUser names `name`, or fails INTERNAL when `sick`. */
function userService({ name = 'Ada', sick = false }: { name?: string; sick?: boolean } = {}) {
  return defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
    async getUser(request) {
      if (sick) throw statusError(Status.INTERNAL, 'this instance is sick');
      return { user: { id: request.id, name, email: 'ada@example.com', createTime: new Date(0), orderCount: 0, totalSpentCents: 0 } };
    },
    createUser: async () => ({ user: undefined }),
    batchGetUsers: async () => ({ users: [] }),
    listUsers: async () => ({ users: [], nextPageToken: '' }),
  });
}

/** createPeerClients as an app makes it, with the warn lines it writes and the ejections it counts kept for the test. */
function peerClients(registryAddress: string) {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ service: 'gateway', level: 'info', format: 'json' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const metrics = new RpcMetrics({ defaultMetrics: false });
  const config = loadServiceConfig('gateway', { GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', REGISTRY_ADDRESS: registryAddress });
  const clients = createPeerClients({ config, logger, metrics, telemetry: startTelemetry({ serviceName: 'gateway', serviceVersion: 'test', env: {} }) });
  const ejectionLines = () => lines.filter((line) => line.msg === 'instance ejected from rotation by outlier detection');
  const counted = async () => (await metrics.ejections.get()).values.reduce((sum, value) => sum + value.value, 0);
  return { clients, ejectionLines, counted };
}

async function answeredBy({ clients }: ReturnType<typeof peerClients>): Promise<string | undefined> {
  const users = clients.get(userV1.UserServiceClient, 'registry:///directory');
  const answer = await callUnary(users.getUser.bind(users), { id: 'u1' }, { deadline: new Date(Date.now() + 5_000) });
  return answer.user?.name;
}

describe('outlier ejections reported by the peer clients', () => {
  it('reach the factory whose balancer ejected, once, and no other factory in the process', async () => {
    const registry = await startRegistry({ sweepIntervalMs: 50 });
    const sick = await startTestServer([userService({ sick: true })]);
    const healthy = await startTestServer([userService()]);
    const registrations = [sick, healthy].map((server) =>
      startRegistration({ registryAddresses: [registry.address], serviceName: 'ejections', address: server.address, version: '1', logger: silent }),
    );
    const calling = peerClients(registry.address);
    const idle = peerClients(registry.address);
    try {
      await Promise.all(registrations.map((r) => r.registered));
      const users = calling.clients.get(userV1.UserServiceClient, 'registry:///ejections');
      // Round robin alone alternates, so a run of 40 successes only happens once the sick one is out.
      let consecutive = 0;
      await eventually(
        async () => {
          const ok = await callUnary(users.getUser.bind(users), { id: 'u1' }).then(
            () => true,
            () => false,
          );
          consecutive = ok ? consecutive + 1 : 0;
          return consecutive >= 40;
        },
        20_000,
        'the sick instance ejected',
      );
      await new Promise((resolve) => setImmediate(resolve)); // log lines are written once per turn
      expect(calling.ejectionLines()).toEqual([expect.objectContaining({ level: 40, address: sick.address, consecutive_failures: 5, last_failure: 'INTERNAL' })]);
      expect(await calling.counted()).toBe(1);
      expect(idle.ejectionLines()).toEqual([]);
      expect(await idle.counted()).toBe(0);
    } finally {
      calling.clients.close();
      idle.clients.close();
      await Promise.all(registrations.map((r) => r.stop()));
      sick.stop();
      healthy.stop();
      registry.stop();
    }
  });
});

describe('peer clients of two factories in one process', () => {
  it('resolve through their own registries, made in either order, and one closing leaves the other working', async () => {
    const registries = [await startRegistry(), await startRegistry()];
    const servers = [await startTestServer([userService({ name: 'listed in the first registry' })]), await startTestServer([userService({ name: 'listed in the second registry' })])];
    // The same service name in both registries, a different instance in each.
    const registrations = servers.map((server, i) =>
      startRegistration({ registryAddresses: [registries[i].address], serviceName: 'directory', address: server.address, version: '1', logger: silent }),
    );
    const first = peerClients(registries[0].address);
    const second = peerClients(registries[1].address);
    try {
      await Promise.all(registrations.map((r) => r.registered));
      // The factory made first resolves after the second was made, and the other way round.
      expect(await answeredBy(first)).toBe('listed in the first registry');
      expect(await answeredBy(second)).toBe('listed in the second registry');
      for (let i = 0; i < 10; i++) expect(await answeredBy(first)).toBe('listed in the first registry');
      first.clients.close();
      expect(await answeredBy(second)).toBe('listed in the second registry');
    } finally {
      first.clients.close();
      second.clients.close();
      await Promise.all(registrations.map((r) => r.stop()));
      servers.forEach((server) => server.stop());
      registries.forEach((registry) => registry.stop());
    }
  });

  it('leave a channel made without a registry failing its registry target UNAVAILABLE, saying how to give it one', async () => {
    const registry = await startRegistry();
    const peers = peerClients(registry.address);
    const bare = createClientFactory({ logger: silent, defaultDeadlineMs: 2_000, idempotentMethods: new Set(), retry: { maxAttempts: 1 } });
    try {
      const users = bare.get(userV1.UserServiceClient, 'registry:///directory');
      await expect(callUnary(users.getUser.bind(users), { id: 'u1' })).rejects.toMatchObject({
        code: Status.UNAVAILABLE,
        details: expect.stringContaining('call registerRegistryResolver at start-up, or make the client with createPeerClients'),
      });
    } finally {
      bare.close();
      peers.clients.close();
      registry.stop();
    }
  });
});
