import { status as Status } from '@grpc/grpc-js';
import { userV1 } from '@switchyard/proto';
import { callUnary, createLogger, createPeerClients, defineService, loadServiceConfig, RpcMetrics, startRegistration, startTelemetry, statusError } from '@switchyard/runtime';
import { eventually, startTestServer } from '@switchyard/testing';
import pino from 'pino';
import { startRegistry } from './registry-server.test-support';

const silent = pino({ level: 'silent' });

function userService(sick: boolean) {
  return defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
    async getUser(request) {
      if (sick) throw statusError(Status.INTERNAL, 'this instance is sick');
      return { user: { id: request.id, name: 'Ada', email: 'ada@example.com', createTime: new Date(0), orderCount: 0, totalSpentCents: 0 } };
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

describe('outlier ejections reported by the peer clients', () => {
  it('reach the factory whose balancer ejected, once, and no other factory in the process', async () => {
    const registry = await startRegistry({ sweepIntervalMs: 50 });
    const sick = await startTestServer([userService(true)]);
    const healthy = await startTestServer([userService(false)]);
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
