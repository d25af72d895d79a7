import { status as Status } from '@grpc/grpc-js';
import { gatewayV1, orderV1, userV1 } from '@switchyard/proto';
import { FailedPreconditionError, NotFoundError, callUnary, defineService, type ClientFactory, type ServiceRegistration } from '@switchyard/runtime';
import { fixtureOrdersByUser, fixtureUsers } from '../fixture';

// The same in-memory handlers and aggregation as the NestJS and Moleculer peers, written as a
// Switchyard app would be: defineService handlers, the gateway calling user and order through the
// shared client factory (registry:/// targets, deadline, retry, tracing and logging interceptors).

export type SwitchyardPeerServiceName = 'user' | 'order' | 'gateway';

const notBenchmarked = async (): Promise<never> => {
  throw new FailedPreconditionError('not served by the benchmark');
};

export function userService(): ServiceRegistration {
  const users = new Map(fixtureUsers().map((user) => [user.id, user]));
  return defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
    async getUser({ id }) {
      const user = users.get(id);
      if (!user) throw new NotFoundError('user', id);
      return { user };
    },
    createUser: notBenchmarked,
    batchGetUsers: notBenchmarked,
    listUsers: notBenchmarked,
  });
}

export function orderService(): ServiceRegistration {
  const byUser: Map<string, orderV1.Order[]> = fixtureOrdersByUser();
  return defineService('switchyard.order.v1.OrderService', orderV1.OrderServiceService, {
    async listOrders({ userId, pageSize }) {
      const orders = byUser.get(userId) ?? [];
      return { orders: pageSize ? orders.slice(0, pageSize) : orders, nextPageToken: '' };
    },
    getOrder: notBenchmarked,
    createOrder: notBenchmarked,
  });
}

/** As apps/gateway does it: user and order at once; the user's failure fails the call, the orders' is reported. */
export function gatewayService(clients: ClientFactory): ServiceRegistration {
  const users = clients.get(userV1.UserServiceClient, 'registry:///user');
  const orders = clients.get(orderV1.OrderServiceClient, 'registry:///order');
  const getUser = users.getUser.bind(users);
  const listOrders = orders.listOrders.bind(orders);
  return defineService('switchyard.gateway.v1.GatewayService', gatewayV1.GatewayServiceService, {
    async getUserWithOrders({ userId, pageSize }) {
      const [user, page] = await Promise.allSettled([callUnary(getUser, { id: userId }), callUnary(listOrders, { userId, pageSize, pageToken: '' })]);
      if (user.status === 'rejected') throw user.reason;
      if (page.status === 'rejected') {
        const { code, details } = page.reason as { code?: number; details?: string };
        return { user: user.value.user, orders: [], nextPageToken: '', partialFailures: [{ source: 'order', code: Status[code ?? Status.UNKNOWN] ?? String(code), message: details ?? '' }] };
      }
      return { user: user.value.user, orders: page.value.orders, nextPageToken: page.value.nextPageToken, partialFailures: [] };
    },
  });
}
