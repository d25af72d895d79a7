import { Server, ServerCredentials, credentials, status as Status, type ServiceError } from '@grpc/grpc-js';
import { gatewayV1, orderV1, userV1 } from '@switchyard/proto';
import { unary } from '../../src/clients/grpc-unary';
import { fixtureOrdersByUser, fixtureUsers } from '../fixture';

// The same in-memory user, order and gateway as the other peers, on bare grpc-js with default
// options: generated definitions and clients, no middleware, interceptors, telemetry, logging,
// health or registry. What gRPC on Node costs before any framework.

export type GrpcJsPeerServiceName = 'user' | 'order' | 'gateway';

export interface GrpcJsPeerOptions {
  port: number;
  /** The gateway's upstreams, host:port. */
  upstream?: { user: string; order: string };
  /** user.GetUser and order.ListOrders answer this many ms late (a plain timer), as FAULTS delays the apps. */
  delayMs: number;
}

function notFound(what: string): Partial<ServiceError> {
  return { code: Status.NOT_FOUND, details: `${what} not found` };
}

/** Runs `answer` after `delayMs`, or at once. */
function later(delayMs: number, answer: () => void): void {
  if (delayMs > 0) setTimeout(answer, delayMs);
  else answer();
}

function userServer(delayMs: number): Server {
  const users = new Map(fixtureUsers().map((user) => [user.id, user]));
  const server = new Server();
  server.addService(userV1.UserServiceService, {
    getUser(call, callback) {
      const user = users.get(call.request.id);
      later(delayMs, () => (user ? callback(null, { user }) : callback(notFound(`user ${call.request.id}`))));
    },
  } as Partial<userV1.UserServiceServer> as userV1.UserServiceServer);
  return server;
}

function orderServer(delayMs: number): Server {
  const byUser: Map<string, orderV1.Order[]> = fixtureOrdersByUser();
  const server = new Server();
  server.addService(orderV1.OrderServiceService, {
    listOrders(call, callback) {
      const { userId, pageSize } = call.request;
      const orders = byUser.get(userId) ?? [];
      later(delayMs, () => callback(null, { orders: pageSize ? orders.slice(0, pageSize) : orders, nextPageToken: '' }));
    },
  } as Partial<orderV1.OrderServiceServer> as orderV1.OrderServiceServer);
  return server;
}

/** As apps/gateway does it: user and order at once; the user's failure fails the call, the orders' is reported. */
function gatewayServer(upstream: { user: string; order: string }): { server: Server; close(): void } {
  const users = new userV1.UserServiceClient(upstream.user, credentials.createInsecure());
  const orders = new orderV1.OrderServiceClient(upstream.order, credentials.createInsecure());
  const getUser = users.getUser.bind(users);
  const listOrders = orders.listOrders.bind(orders);
  const server = new Server();
  const implementation: gatewayV1.GatewayServiceServer = {
    getUserWithOrders(call, callback) {
      const { userId, pageSize } = call.request;
      void Promise.allSettled([
        unary<userV1.GetUserRequest, userV1.GetUserResponse>(getUser, { id: userId }),
        unary<orderV1.ListOrdersRequest, orderV1.ListOrdersResponse>(listOrders, { userId, pageSize, pageToken: '' }),
      ]).then(([user, page]) => {
        if (user.status === 'rejected') return callback(user.reason as ServiceError);
        if (page.status === 'rejected') {
          const { code = Status.UNKNOWN, details = '' } = page.reason as ServiceError;
          return callback(null, { user: user.value.user, orders: [], nextPageToken: '', partialFailures: [{ source: 'order', code: Status[code], message: details }] });
        }
        callback(null, { user: user.value.user, orders: page.value.orders, nextPageToken: page.value.nextPageToken, partialFailures: [] });
      });
    },
  };
  server.addService(gatewayV1.GatewayServiceService, implementation);
  return {
    server,
    close: () => {
      users.close();
      orders.close();
    },
  };
}

/** Starts one service on 127.0.0.1:`port`. */
export async function startGrpcJsPeerService(service: GrpcJsPeerServiceName, options: GrpcJsPeerOptions): Promise<{ port: number; stop(): Promise<void> }> {
  let closeClients = () => {};
  let server: Server;
  if (service === 'gateway') {
    if (!options.upstream) throw new Error('the grpc-js gateway needs its upstream addresses');
    ({ server, close: closeClients } = gatewayServer(options.upstream));
  } else {
    server = service === 'user' ? userServer(options.delayMs) : orderServer(options.delayMs);
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${options.port}`, ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return {
    port,
    stop: () =>
      new Promise((resolve) =>
        server.tryShutdown(() => {
          closeClients();
          resolve();
        }),
      ),
  };
}
