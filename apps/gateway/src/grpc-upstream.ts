import { orderV1, userV1 } from '@switchyard/proto';
import { NotFoundError, callUnary, type ClientFactory } from '@switchyard/runtime';
import { downstreamMetadata } from './auth/identity-metadata';
import type { CircuitBreaker } from './breaker/circuit-breaker';
import { withCallerHeaders } from './forwarded-metadata';
import type { UpstreamServices } from './user-with-orders';

export interface UpstreamTargets {
  /** e.g. `registry:///user` */
  user: string;
  /** e.g. `registry:///order` */
  order: string;
}

/** One breaker per upstream service; a service with none is called directly. */
export interface UpstreamBreakers {
  user?: CircuitBreaker;
  order?: CircuitBreaker;
}

const direct = <T>(call: () => Promise<T>) => call();

/**
 * The gateway's view of user and order, over gRPC clients from the shared factory; calls carry
 * the caller's verified identity and its `forwardedHeaders` (the canary header), and go through
 * the upstream's breaker.
 */
export function grpcUpstream(clients: ClientFactory, targets: UpstreamTargets, forwardedHeaders: readonly string[] = [], breakers: UpstreamBreakers = {}): UpstreamServices {
  const metadata = () => withCallerHeaders(downstreamMetadata(), forwardedHeaders);
  const viaUser = breakers.user ? breakers.user.run.bind(breakers.user) : direct;
  const viaOrder = breakers.order ? breakers.order.run.bind(breakers.order) : direct;
  const users = clients.get(userV1.UserServiceClient, targets.user);
  const orders = clients.get(orderV1.OrderServiceClient, targets.order);
  return {
    async getUser(userId) {
      const { user } = await viaUser(() => callUnary(users.getUser.bind(users), { id: userId }, { metadata: metadata() }));
      if (!user) throw new NotFoundError('user', userId);
      return user;
    },
    async listOrders(userId, pageSize) {
      const { orders: page, nextPageToken } = await viaOrder(() =>
        callUnary(orders.listOrders.bind(orders), { userId, pageSize, pageToken: '' }, { metadata: metadata() }),
      );
      return { orders: page, nextPageToken };
    },
  };
}
