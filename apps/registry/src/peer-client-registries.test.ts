import { status as Status } from '@grpc/grpc-js';
import { userV1 } from '@switchyard/proto';
import { callUnary, createClientFactory, createPeerClients, defineService, loadServiceConfig, startRegistration, startTelemetry } from '@switchyard/runtime';
import { startTestServer } from '@switchyard/testing';
import pino from 'pino';
import { startRegistry } from './registry-server.test-support';

const silent = pino({ level: 'silent' });

/** A user service whose every answer names the instance that gave it. */
function namedUserService(name: string) {
  return defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
    getUser: async (request) => ({ user: { id: request.id, name, email: 'ada@example.com', createTime: new Date(0), orderCount: 0, totalSpentCents: 0 } }),
    createUser: async () => ({ user: undefined }),
    batchGetUsers: async () => ({ users: [] }),
    listUsers: async () => ({ users: [], nextPageToken: '' }),
  });
}

function peerClients(registryAddress: string) {
  const config = loadServiceConfig('gateway', { GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', REGISTRY_ADDRESS: registryAddress });
  return createPeerClients({ config, logger: silent, telemetry: startTelemetry({ serviceName: 'gateway', serviceVersion: 'test', env: {} }) });
}

async function answeredBy(clients: ReturnType<typeof peerClients>): Promise<string | undefined> {
  const users = clients.get(userV1.UserServiceClient, 'registry:///directory');
  const answer = await callUnary(users.getUser.bind(users), { id: 'u1' }, { deadline: new Date(Date.now() + 5_000) });
  return answer.user?.name;
}

describe('peer clients of two factories in one process', () => {
  it('resolve through their own registries, made in either order, and one closing leaves the other working', async () => {
    const registries = [await startRegistry(), await startRegistry()];
    const servers = [await startTestServer([namedUserService('listed in the first registry')]), await startTestServer([namedUserService('listed in the second registry')])];
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
      first.close();
      expect(await answeredBy(second)).toBe('listed in the second registry');
    } finally {
      first.close();
      second.close();
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
      peers.close();
      registry.stop();
    }
  });
});
