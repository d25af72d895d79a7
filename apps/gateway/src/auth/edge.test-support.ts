import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { descriptorSetBase64, gatewayV1, orderV1, userV1 } from '@switchyard/proto';
import { NotFoundError, callUnary, createClientFactory, defineService, idempotentMethodPaths, type ServerMiddleware } from '@switchyard/runtime';
import { startTestServer, type TestServer } from '@switchyard/testing';
import pino from 'pino';
import { toEdgeError } from '../edge-errors';
import { forwardingService } from '../forwarding-service';
import { grpcUpstream } from '../grpc-upstream';
import { startGatewayHttp } from '../http/gateway-http';
import { PUBLIC_SERVICES } from '../public-services';
import { createGatewayService } from '../user-with-orders';

/** What an upstream service received: the method and its metadata, as plain entries. */
export interface SeenCall {
  method: string;
  metadata: Record<string, string>;
}

export interface Edge {
  /** Calls the gateway over gRPC with these metadata entries; resolves to the status code and message. */
  grpc(method: 'getUser' | 'listUsers' | 'createUser' | 'getUserWithOrders', headers?: Record<string, string>): Promise<{ code: number; details: string }>;
  /** Calls the gateway's HTTP face. */
  http(method: string, path: string, headers?: Record<string, string>, body?: unknown): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }>;
  /** Calls received by user and order, in order. */
  seen: SeenCall[];
  close(): Promise<void>;
}

const USER: userV1.User = { id: 'u1', name: 'Ada', email: 'ada@example.com', createTime: new Date(Date.UTC(2026, 0, 1)), orderCount: 0, totalSpentCents: 0 };

/** user and order stand-ins that answer for u1 and record the metadata of every call they get. */
function probeUpstreams(seen: SeenCall[]) {
  const record: ServerMiddleware = (call, next) => {
    const metadata: Record<string, string> = {};
    for (const [key, value] of Object.entries(call.metadata.getMap())) metadata[key] = String(value);
    seen.push({ method: call.method, metadata });
    return next();
  };
  const user = defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
    async createUser(request) {
      return { user: { ...USER, name: request.name, email: request.email } };
    },
    async getUser(request) {
      if (request.id !== USER.id) throw new NotFoundError('user', request.id);
      return { user: USER };
    },
    async listUsers() {
      return { users: [USER], nextPageToken: '' };
    },
    async batchGetUsers() {
      return { users: [USER] };
    },
  });
  const order = defineService('switchyard.order.v1.OrderService', orderV1.OrderServiceService, {
    async createOrder() {
      throw new NotFoundError('user', 'x');
    },
    async getOrder(request) {
      throw new NotFoundError('order', request.id);
    },
    async listOrders() {
      return { orders: [], nextPageToken: '' };
    },
  });
  return { user, order, record };
}

/**
 * The gateway as main.ts wires it (GetUserWithOrders, forwarding, the HTTP face over a loopback
 * gRPC client), on ephemeral ports with `edge` as its middleware, in front of recording upstreams.
 */
export async function startEdge(edge: ServerMiddleware): Promise<Edge> {
  const logger = pino({ level: 'silent' });
  const seen: SeenCall[] = [];
  const servers: TestServer[] = [];
  const factory = createClientFactory({ logger, defaultDeadlineMs: 10_000, idempotentMethods: idempotentMethodPaths(descriptorSetBase64) });
  const probes = probeUpstreams(seen);
  const userServer = await startTestServer([probes.user], [probes.record]);
  const orderServer = await startTestServer([probes.order], [probes.record]);
  servers.push(userServer, orderServer);
  const targets = { user: userServer.address, order: orderServer.address };
  const services = [
    createGatewayService(grpcUpstream(factory, targets)),
    ...PUBLIC_SERVICES.map((service) => forwardingService(service, factory.get(service.client, targets[service.app]), { toEdgeError })),
  ];
  const gateway = await startTestServer(services, [edge]);
  servers.push(gateway);
  const face = await startGatewayHttp({
    http: { host: '127.0.0.1', port: 0, bodyLimitBytes: 4096 },
    serviceNames: services.map((service) => service.name),
    grpcAddress: gateway.address,
    deadlineMs: 10_000,
    version: 'test',
    toEdgeError,
    logger,
  });
  const users = factory.get(userV1.UserServiceClient, gateway.address);
  const combined = factory.get(gatewayV1.GatewayServiceClient, gateway.address);
  const calls = {
    getUser: (metadata: Metadata) => callUnary(users.getUser.bind(users), { id: USER.id }, { metadata }),
    listUsers: (metadata: Metadata) => callUnary(users.listUsers.bind(users), { pageSize: 10, pageToken: '' }, { metadata }),
    createUser: (metadata: Metadata) => callUnary(users.createUser.bind(users), { name: 'Bo', email: 'bo@example.com' }, { metadata }),
    getUserWithOrders: (metadata: Metadata) => callUnary(combined.getUserWithOrders.bind(combined), { userId: USER.id, pageSize: 10 }, { metadata }),
  };
  return {
    seen,
    async grpc(method, headers = {}) {
      const metadata = new Metadata();
      for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
      try {
        await calls[method](metadata);
        return { code: 0, details: 'OK' };
      } catch (error) {
        const { code, details } = error as ServiceError;
        return { code, details };
      }
    },
    async http(method, path, headers = {}, body) {
      const response = await fetch(`http://127.0.0.1:${face.port}${path}`, {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    },
    async close() {
      await face.close();
      factory.close();
      servers.forEach((server) => server.stop());
    },
  };
}
