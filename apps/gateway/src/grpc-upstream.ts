import { orderV1, userV1 } from '@switchyard/proto';
import { NotFoundError, activeCallContext, callUnary, type ClientFactory } from '@switchyard/runtime';
import { forwardedFrom } from './forwarded-metadata';
import type { UpstreamServices } from './user-with-orders';

export interface UpstreamTargets {
  /** e.g. `registry:///user` */
  user: string;
  /** e.g. `registry:///order` */
  order: string;
}

/**
 * The gateway's view of user and order, over gRPC clients from the shared factory. The metadata
 * keys in `forwardedMetadata` (forwardedMetadataKeys) go from the gateway's caller to each call.
 */
export function grpcUpstream(clients: ClientFactory, targets: UpstreamTargets, forwardedMetadata: readonly string[] = []): UpstreamServices {
  const metadata = () => forwardedFrom(activeCallContext()?.metadata, forwardedMetadata);
  const users = clients.get(userV1.UserServiceClient, targets.user);
  const orders = clients.get(orderV1.OrderServiceClient, targets.order);
  return {
    async getUser(userId) {
      const { user } = await callUnary(users.getUser.bind(users), { id: userId }, { metadata: metadata() });
      if (!user) throw new NotFoundError('user', userId);
      return user;
    },
    async listOrders(userId, pageSize) {
      const { orders: page, nextPageToken } = await callUnary(orders.listOrders.bind(orders), { userId, pageSize, pageToken: '' }, { metadata: metadata() });
      return { orders: page, nextPageToken };
    },
  };
}
