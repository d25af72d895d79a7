import dns from 'node:dns';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { userV1 } from '@switchyard/proto';
import { defineService, registerRegistryResolver, startRegistration } from '@switchyard/runtime';
import { startTestServer } from '@switchyard/testing';
import pino from 'pino';
import { startRegistry } from './registry-server.test-support';

const logger = pino({ level: 'silent' });

/**
 * Resolves docker-compose.yml's service names to loopback, as the compose network's DNS would:
 * grpc-js resolves targets with dns.promises.lookup, and connects to a host with net, which uses dns.lookup.
 */
function resolveComposeHostsToLoopback(hosts: string[]) {
  const lookupAll = dns.promises.lookup.bind(dns.promises);
  const lookup = dns.lookup.bind(dns);
  const promised = jest.spyOn(dns.promises, 'lookup').mockImplementation(((hostname: string, options: dns.LookupAllOptions) =>
    hosts.includes(hostname) ? Promise.resolve([{ address: '127.0.0.1', family: 4 }]) : lookupAll(hostname, options)) as typeof dns.promises.lookup);
  const callback = jest.spyOn(dns, 'lookup').mockImplementation(((hostname: string, options: dns.LookupOptions, done: (...args: unknown[]) => void) => {
    if (!hosts.includes(hostname)) return lookup(hostname, options, done as never);
    if (options.all) done(null, [{ address: '127.0.0.1', family: 4 }]);
    else done(null, '127.0.0.1', 4);
  }) as typeof dns.lookup);
  return {
    hostsLookedUp: () => [...promised.mock.calls, ...callback.mock.calls].map(([hostname]) => hostname),
    restore: () => {
      promised.mockRestore();
      callback.mockRestore();
    },
  };
}

const userService = defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
  async getUser(request) {
    return { user: { id: request.id, name: 'Ada', email: 'ada@example.com', createTime: new Date(0), orderCount: 0, totalSpentCents: 0 } };
  },
  createUser: async () => ({ user: undefined }),
  batchGetUsers: async () => ({ users: [] }),
  listUsers: async () => ({ users: [], nextPageToken: '' }),
});

describe('compose addresses (service names as hosts)', () => {
  it('registers at REGISTRY_ADDRESS=registry:<port> and calls user:<port> through registry:///user, with the registry: scheme registered', async () => {
    const lookup = resolveComposeHostsToLoopback(['registry', 'user']);
    const registry = await startRegistry();
    const user = await startTestServer([userService]);
    // The hostname `registry` is also the resolver's scheme: the address must still be read as a host.
    const registryAddress = `registry:${registry.port}`;
    const resolver = registerRegistryResolver({ registryAddresses: [registryAddress], logger });
    const registration = startRegistration({ registryAddresses: [registryAddress], serviceName: 'user', address: `user:${user.port}`, version: '1', logger });
    const client = new userV1.UserServiceClient('registry:///user', credentials.createInsecure());
    try {
      await registration.registered;
      const name = await new Promise<string>((resolve, reject) =>
        client.getUser({ id: 'u1' }, new Metadata(), { deadline: Date.now() + 5000 }, (error: ServiceError | null, response: userV1.GetUserResponse) =>
          error ? reject(error) : resolve(response.user!.name),
        ),
      );
      expect(name).toBe('Ada');
      expect(lookup.hostsLookedUp()).toEqual(expect.arrayContaining(['registry', 'user']));
    } finally {
      client.close();
      await registration.stop();
      resolver.close();
      await user.stop();
      registry.stop();
      lookup.restore();
    }
  });
});
