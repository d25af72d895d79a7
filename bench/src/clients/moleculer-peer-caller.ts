import type { userV1 } from '@switchyard/proto';
import { createBroker, type MoleculerNodeOptions } from '../../peers/moleculer/broker';
import type { UserCaller } from './user-caller';

/**
 * Moleculer's own client: a broker of its own in the load generator (no services) calling
 * `user.get` or `gateway.getUserWithOrders` with ServiceBroker.call, over the same transporter.
 */
export async function createMoleculerPeerCaller(call: 'GetUser' | 'GetUserWithOrders', node: MoleculerNodeOptions): Promise<UserCaller> {
  const broker = createBroker(node);
  await broker.start();
  await broker.waitForServices(call === 'GetUser' ? 'user' : 'gateway', 20_000);
  const close = () => broker.stop();
  if (call === 'GetUser') {
    // The response is Moleculer's JSON (createTime an ISO string): the load generator reads nothing of it.
    return { getUser: async ({ id }) => ({ user: (await broker.call('user.get', { id })) as userV1.User }), close };
  }
  return {
    getUser: async ({ id }) => {
      const response = (await broker.call('gateway.getUserWithOrders', { userId: id, pageSize: 0 })) as { user: userV1.User; partialFailures: unknown[] };
      // As for Switchyard: a partial failure (orders missing) is an error, the fan-out did not complete.
      if (response.partialFailures.length > 0) throw Object.assign(new Error(`partial failure: ${JSON.stringify(response.partialFailures[0])}`), { code: 'PARTIAL_FAILURE' });
      return { user: response.user };
    },
    close,
  };
}
