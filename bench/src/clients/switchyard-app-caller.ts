import type { ClientSpec } from '../bench-messages';
import { randomUUID } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import { gatewayV1, orderV1, userV1 } from '@switchyard/proto';
import { callUnary } from '@switchyard/runtime';
import { startSwitchyardClientStack } from './switchyard-client-stack';
import type { UserCaller } from './user-caller';

/**
 * The Switchyard client stack (switchyard-client-stack.ts) against the
 * built apps. `GetUser` calls the user app directly, `ListOrders` (the user's whole first page) the
 * order app; `CreateOrder` places an order on the order app (which asks user for the user first);
 * `GetUserWithOrders` calls the gateway, which fans out to user and order. The load generator asks for fixture ids (`user-0042`); each maps
 * onto a seeded user (`userIds[42 % userIds.length]`), so every call finds its user.
 */
export function createSwitchyardAppCaller(spec: Extract<ClientSpec, { kind: 'switchyard-app' }>): UserCaller {
  if (spec.userIds.length === 0) throw new Error('switchyard-app caller: no seeded user ids');
  const seededId = (fixtureId: string) => spec.userIds[Number(/(\d+)$/.exec(fixtureId)?.[1] ?? 0) % spec.userIds.length];
  const { clients, close, spanReport } = startSwitchyardClientStack(spec.target);
  // A fresh Metadata per call: the client stack adds its own entries (deadline, trace) to it.
  const metadata = () => {
    const entries = new Metadata();
    if (spec.authorization !== undefined) entries.set('authorization', spec.authorization);
    return entries;
  };

  if (spec.call === 'GetUser') {
    const client = clients.get(userV1.UserServiceClient, spec.target);
    const getUser = client.getUser.bind(client);
    return { getUser: (request) => callUnary(getUser, { id: seededId(request.id) }, { metadata: metadata() }), close, spanReport };
  }
  if (spec.call === 'ListOrders') {
    const client = clients.get(orderV1.OrderServiceClient, spec.target);
    const listOrders = client.listOrders.bind(client);
    return {
      getUser: async (request) => {
        const page = await callUnary(listOrders, { userId: seededId(request.id), pageSize: 0, pageToken: '' }, { metadata: metadata() });
        // Every seeded user has orders: an empty page means the call did not reach them.
        if (page.orders.length === 0) throw Object.assign(new Error(`no orders listed for ${seededId(request.id)}`), { code: 'NO_ORDERS' });
        return { user: undefined };
      },
      close,
      spanReport,
    };
  }
  if (spec.call === 'CreateOrder') {
    const client = clients.get(orderV1.OrderServiceClient, spec.target);
    const createOrder = client.createOrder.bind(client);
    // A request id per call: the same id again would be the same order (the idempotency key).
    const run = randomUUID().slice(0, 8);
    let sequence = 0;
    return {
      getUser: async (request) => {
        const requestId = `bench-${run}-${sequence++}`;
        await callUnary(createOrder, { userId: seededId(request.id), items: [{ sku: `SKU-${sequence % 17}`, quantity: 1, unitPriceCents: 250 }], requestId }, { metadata: metadata() });
        return { user: undefined };
      },
      close,
      spanReport,
    };
  }
  const client = clients.get(gatewayV1.GatewayServiceClient, spec.target);
  const getUserWithOrders = client.getUserWithOrders.bind(client);
  return {
    getUser: async (request) => {
      const response = await callUnary(getUserWithOrders, { userId: seededId(request.id), pageSize: 0 }, { metadata: metadata() });
      // A partial failure (orders missing) is an error for the benchmark: the fan-out did not complete.
      if (response.partialFailures.length > 0) {
        const [failure] = response.partialFailures;
        throw Object.assign(new Error(`partial failure from ${failure.source}: ${failure.code} ${failure.message}`), { code: 'PARTIAL_FAILURE' });
      }
      return { user: response.user };
    },
    close,
    spanReport,
  };
}
