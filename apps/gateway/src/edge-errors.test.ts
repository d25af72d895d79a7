import { Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { descriptorSetBase64, gatewayV1, googleRpc, orderV1, userV1 } from '@switchyard/proto';
import { callUnary, createClientFactory, defineService, idempotentMethodPaths, statusError, tracingMiddleware } from '@switchyard/runtime';
import { badRequestFields, freePort, startTestServer, type TestServer } from '@switchyard/testing';
import pino from 'pino';
import { grpcUpstream } from './grpc-upstream';
import { createGatewayService } from './user-with-orders';

const ada: userV1.User = { id: 'u1', name: 'Ada', email: 'ada@example.com', createTime: new Date('2026-01-01T00:00:00Z'), orderCount: 0, totalSpentCents: 0 };

// What a service behind the gateway may let slip: addresses, SQL, a stack.
const LEAK = 'connect ECONNREFUSED 10.0.0.7:5432 at Pool.query (select * from users where id = $1)';

/** Trailing metadata a failing service sends: an internal header, and BadRequest plus a DebugInfo-like detail. */
function leakyMetadata(withBadRequest: boolean): Metadata {
  const metadata = new Metadata();
  metadata.set('x-internal-host', '10.0.0.7:50051');
  const details = [{ typeUrl: 'type.googleapis.com/google.rpc.DebugInfo', value: Buffer.from(LEAK) }];
  if (withBadRequest) {
    const badRequest = googleRpc.BadRequest.encode({ fieldViolations: [{ field: 'id', description: 'is required', reason: '', localizedMessage: undefined }] }).finish();
    details.unshift({ typeUrl: 'type.googleapis.com/google.rpc.BadRequest', value: Buffer.from(badRequest) });
  }
  metadata.set('grpc-status-details-bin', Buffer.from(googleRpc.Status.encode({ code: Status.INVALID_ARGUMENT, message: LEAK, details }).finish()));
  return metadata;
}

// Spans with real trace ids, active while the handler runs (as startTelemetry sets up in the apps).
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(new BasicTracerProvider());

describe('the gateway forwards no internal details of a failure behind it', () => {
  const servers: TestServer[] = [];
  const factory = createClientFactory({
    logger: pino({ level: 'silent' }),
    defaultDeadlineMs: 10_000,
    idempotentMethods: idempotentMethodPaths(descriptorSetBase64),
    retry: { maxAttempts: 2 },
  });
  afterEach(() => servers.splice(0).forEach((server) => server.stop()));
  afterAll(() => factory.close());

  /** A gateway (traced) over a user service whose GetUser throws `userError` and an order service whose ListOrders throws `orderError`. */
  async function gatewayOver(errors: { user?: Error; order?: Error; userAddress?: string }) {
    const unused = async () => {
      throw new Error('unused');
    };
    const user = defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
      async getUser() {
        if (errors.user) throw errors.user;
        return { user: ada };
      },
      createUser: unused,
      batchGetUsers: unused,
      listUsers: unused,
    });
    const orders = defineService('switchyard.order.v1.OrderService', orderV1.OrderServiceService, {
      async listOrders() {
        if (errors.order) throw errors.order;
        return { orders: [], nextPageToken: '' };
      },
      getOrder: unused,
      createOrder: unused,
    });
    const userServer = await startTestServer([user]);
    const orderServer = await startTestServer([orders]);
    const upstream = grpcUpstream(factory, { user: errors.userAddress ?? userServer.address, order: orderServer.address });
    const gateway = await startTestServer([createGatewayService(upstream)], [tracingMiddleware]);
    servers.push(userServer, orderServer, gateway);
    const client = factory.get(gatewayV1.GatewayServiceClient, gateway.address);
    return (request: Partial<gatewayV1.GetUserWithOrdersRequest>) => callUnary(client.getUserWithOrders.bind(client), { userId: 'u1', pageSize: 0, ...request });
  }

  const failureOf = (promise: Promise<unknown>) => promise.then(() => Promise.reject(new Error('expected the call to fail')), (error: ServiceError) => error);

  it.each([
    ['INTERNAL', Status.INTERNAL],
    ['UNKNOWN', Status.UNKNOWN],
    ['DATA_LOSS', Status.DATA_LOSS],
  ])('answers %s from the user service with its code, a generic message and the trace id, and no trailing metadata', async (_name, code) => {
    const call = await gatewayOver({ user: statusError(code, LEAK, leakyMetadata(false)) });
    const error = await failureOf(call({}));
    expect(error.code).toBe(code);
    expect(error.details).toMatch(/^internal error; trace id [0-9a-f]{32}$/);
    expect(error.metadata.get('x-internal-host')).toEqual([]);
    expect(error.metadata.get('grpc-status-details-bin')).toEqual([]);
  });

  it('keeps the code and BadRequest field violations of an INVALID_ARGUMENT, and drops every other detail and header', async () => {
    const call = await gatewayOver({ user: statusError(Status.INVALID_ARGUMENT, LEAK, leakyMetadata(true)) });
    const error = await failureOf(call({}));
    expect(error.code).toBe(Status.INVALID_ARGUMENT);
    expect(error.details).toBe('id: is required');
    expect(badRequestFields(error)).toEqual(['id']);
    const [details] = error.metadata.get('grpc-status-details-bin') as Buffer[];
    expect(googleRpc.Status.decode(details!).details.map((detail) => detail.typeUrl)).toEqual(['type.googleapis.com/google.rpc.BadRequest']);
    expect(error.metadata.get('x-internal-host')).toEqual([]);
  });

  it('answers an unreachable user service with UNAVAILABLE and a message that names no address', async () => {
    const closedPort = await freePort();
    const call = await gatewayOver({ userAddress: `127.0.0.1:${closedPort}` });
    const error = await failureOf(call({}));
    expect(error.code).toBe(Status.UNAVAILABLE);
    expect(error.details).toBe('the service is unavailable; retry later');
  });

  it('keeps a NOT_FOUND message but none of its trailing metadata', async () => {
    const metadata = new Metadata();
    metadata.set('x-internal-host', '10.0.0.7:50051');
    const call = await gatewayOver({ user: statusError(Status.NOT_FOUND, 'user "u1" not found', metadata) });
    const error = await failureOf(call({}));
    expect({ code: error.code, details: error.details }).toEqual({ code: Status.NOT_FOUND, details: 'user "u1" not found' });
    expect(error.metadata.get('x-internal-host')).toEqual([]);
  });

  it('reports a failed order service in partial_failures without its internal message', async () => {
    const call = await gatewayOver({ order: statusError(Status.INTERNAL, LEAK) });
    const response = await call({});
    expect(response.user).toEqual(ada);
    expect(response.partialFailures).toEqual([{ source: 'order', code: 'INTERNAL', message: expect.stringMatching(/^internal error; trace id [0-9a-f]{32}$/) }]);
  });
});
