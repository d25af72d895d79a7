import { InterceptingCall, status as Status, type Interceptor, type ServiceError } from '@grpc/grpc-js';
import { SpanKind, trace } from '@opentelemetry/api';
import { descriptorSetBase64, orderV1, userV1 } from '@switchyard/proto';
import pino from 'pino';
import { statusError } from '../errors/status-mapping';
import { runInCallContext, type CallContext } from '../server/call-context';
import { closeAfterEach } from '../server/close-after-each.test-support';
import { serve } from '../server/serve';
import { defineService, type ServiceRegistration } from '../server/service-handlers';
import { tracingMiddleware } from '../server/tracing-middleware';
import { installInMemoryTracing } from '../telemetry/in-memory-tracing.test-support';
import { callUnary } from './call-unary';
import { createClientFactory } from './client-factory';
import { idempotentMethodPaths } from './method-idempotency';

const logger = pino({ level: 'silent' });
const tracing = installInMemoryTracing();
afterAll(() => tracing.uninstall());

const user = (id: string): userV1.User => ({ id, name: 'Ada', email: 'ada@example.com', createTime: new Date(0), orderCount: 0, totalSpentCents: 0 });

/** A UserService whose GetUser answers UNAVAILABLE `failures` times, then succeeds; it records what it saw. */
function flakyUserService(failures: number) {
  const seen = { getUser: 0, createUser: 0, deadlines: [] as (number | undefined)[] };
  const service = defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
    async getUser(request, ctx) {
      seen.getUser += 1;
      seen.deadlines.push(ctx.deadline);
      if (seen.getUser <= failures) throw statusError(Status.UNAVAILABLE, `attempt ${seen.getUser} refused`);
      return { user: user(request.id) };
    },
    async createUser() {
      seen.createUser += 1;
      throw statusError(Status.UNAVAILABLE, 'always down');
    },
    async batchGetUsers() {
      return { users: [] };
    },
    async listUsers() {
      return { users: [], nextPageToken: '' };
    },
  });
  return { service, seen };
}

async function start(services: ServiceRegistration[]) {
  const serving = await serve(services, { host: '127.0.0.1', port: 0, middleware: [tracingMiddleware] });
  opened.server(serving.server);
  return `127.0.0.1:${serving.port}`;
}

const opened = closeAfterEach();
afterEach(() => tracing.exporter.reset());

function clients(overrides: Partial<Parameters<typeof createClientFactory>[0]> = {}) {
  const factory = createClientFactory({
    logger,
    defaultDeadlineMs: 10_000,
    idempotentMethods: idempotentMethodPaths(descriptorSetBase64),
    retry: { initialBackoffMs: 10, random: () => 1 },
    ...overrides,
  });
  opened.client(factory);
  return factory;
}

describe('retry interceptor', () => {
  it('retries UNAVAILABLE on an idempotent method until it succeeds', async () => {
    const { service, seen } = flakyUserService(2);
    const address = await start([service]);
    const users = clients().get(userV1.UserServiceClient, address);
    const response = await callUnary(users.getUser.bind(users), { id: 'u1' });
    expect(response.user?.id).toBe('u1');
    expect(seen.getUser).toBe(3);
  });

  it('gives up after maxAttempts and returns the last status', async () => {
    const { service, seen } = flakyUserService(10);
    const address = await start([service]);
    const users = clients({ retry: { maxAttempts: 4, initialBackoffMs: 5, random: () => 1 } }).get(userV1.UserServiceClient, address);
    await expect(callUnary(users.getUser.bind(users), { id: 'u1' })).rejects.toMatchObject({ code: Status.UNAVAILABLE, details: 'attempt 4 refused' });
    expect(seen.getUser).toBe(4);
  });

  it('does not repeat a method the protos do not mark idempotent', async () => {
    const { service, seen } = flakyUserService(0);
    const address = await start([service]);
    const users = clients().get(userV1.UserServiceClient, address);
    await expect(callUnary(users.createUser.bind(users), { name: 'a', email: 'a@b.c' })).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    expect(seen.createUser).toBe(1);
  });

  it('repeats a non-idempotent create that carries a request_id', async () => {
    let attempts = 0;
    const orders = defineService('switchyard.order.v1.OrderService', orderV1.OrderServiceService, {
      async createOrder(request) {
        attempts += 1;
        if (attempts === 1) throw statusError(Status.UNAVAILABLE, 'first attempt lost');
        return { order: { id: 'o1', userId: request.userId, items: request.items, totalCents: 0, createTime: new Date(0), requestId: request.requestId } };
      },
      async getOrder() {
        return { order: undefined };
      },
      async listOrders() {
        return { orders: [], nextPageToken: '' };
      },
    });
    const address = await start([orders]);
    const client = clients().get(orderV1.OrderServiceClient, address);
    const response = await callUnary(client.createOrder.bind(client), { userId: 'u1', items: [], requestId: 'r-1' });
    expect(response.order?.requestId).toBe('r-1');
    expect(attempts).toBe(2);
  });

  it('never starts an attempt that could not finish before the deadline', async () => {
    const { service, seen } = flakyUserService(10);
    const address = await start([service]);
    // A retry after the backoff would start past the deadline and end in DEADLINE_EXCEEDED.
    const users = clients({ retry: { initialBackoffMs: 15_000, maxBackoffMs: 15_000, random: () => 1 } }).get(userV1.UserServiceClient, address);
    await expect(callUnary(users.getUser.bind(users), { id: 'u1' }, { deadline: new Date(Date.now() + 5000) })).rejects.toMatchObject({
      code: Status.UNAVAILABLE,
    });
    expect(seen.getUser).toBe(1);
  });
});

describe('deadline interceptor', () => {
  it('gives a call without a deadline the default one', async () => {
    const { service, seen } = flakyUserService(0);
    const address = await start([service]);
    const users = clients({ defaultDeadlineMs: 3000 }).get(userV1.UserServiceClient, address);
    const before = Date.now();
    await callUnary(users.getUser.bind(users), { id: 'u1' });
    const deadline = seen.deadlines[0]!;
    expect(deadline).toBeGreaterThanOrEqual(before + 3000 - 50);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 3000 + 50);
  });

  it('inside a handler, outgoing calls inherit the incoming remaining budget', async () => {
    const { service: downstream, seen } = flakyUserService(0);
    const downstreamAddress = await start([downstream]);
    const factory = clients({ defaultDeadlineMs: 60_000 });
    let incomingDeadline: number | undefined;
    // A front service whose GetUser asks the downstream one, as gateway asks user.
    const front = defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
      async getUser(request, ctx) {
        incomingDeadline = ctx.deadline;
        const users = factory.get(userV1.UserServiceClient, downstreamAddress);
        return callUnary(users.getUser.bind(users), request);
      },
      async createUser() {
        return { user: undefined };
      },
      async batchGetUsers() {
        return { users: [] };
      },
      async listUsers() {
        return { users: [], nextPageToken: '' };
      },
    });
    const frontAddress = await start([front]);
    const caller = clients().get(userV1.UserServiceClient, frontAddress);
    await callUnary(caller.getUser.bind(caller), { id: 'u1' }, { deadline: new Date(Date.now() + 10_000) });
    expect(incomingDeadline).toBeDefined();
    // The downstream deadline is the incoming one less the margin, not the 60 s default. The
    // downstream server sees it later by the call's time on the wire, which a loaded machine
    // stretches: bounds a second wide, still nearly a minute short of the default.
    expect(seen.deadlines[0]).toBeLessThan(incomingDeadline! + 1000);
    expect(seen.deadlines[0]).toBeGreaterThan(incomingDeadline! - 100);
  });

  it('fails a call whose budget is already spent with DEADLINE_EXCEEDED, without reaching the server', async () => {
    const { service, seen } = flakyUserService(0);
    const address = await start([service]);
    const users = clients().get(userV1.UserServiceClient, address);
    const spent: CallContext = { method: '/test/Spent', metadata: undefined as never, peer: '', peerIdentity: undefined, deadline: Date.now() - 1, signal: new AbortController().signal };
    const error = await runInCallContext(spent, () => callUnary(users.getUser.bind(users), { id: 'u1' })).catch((e: ServiceError) => e);
    expect(error).toMatchObject({ code: Status.DEADLINE_EXCEEDED });
    expect((error as ServiceError).details).toContain("caller's deadline has already passed");
    expect(seen.getUser).toBe(0);
  });
});

describe('tracing interceptor and middleware', () => {
  it('joins client and server spans of two hops into one trace, parent to child', async () => {
    const { service: downstream } = flakyUserService(0);
    const downstreamAddress = await start([downstream]);
    const factory = clients();
    const front = defineService('switchyard.order.v1.OrderService', orderV1.OrderServiceService, {
      async getOrder(request) {
        const users = factory.get(userV1.UserServiceClient, downstreamAddress);
        await callUnary(users.getUser.bind(users), { id: request.id });
        return { order: undefined };
      },
      async createOrder() {
        return { order: undefined };
      },
      async listOrders() {
        return { orders: [], nextPageToken: '' };
      },
    });
    const frontAddress = await start([front]);
    const orders = factory.get(orderV1.OrderServiceClient, frontAddress);
    await callUnary(orders.getOrder.bind(orders), { id: 'o1' });

    const spans = tracing.exporter.getFinishedSpans();
    const find = (name: string, kind: SpanKind) => {
      const span = spans.find((s) => s.name === name && s.kind === kind);
      if (!span) throw new Error(`no ${SpanKind[kind]} span ${name} among ${spans.map((s) => s.name).join(', ')}`);
      return span;
    };
    const clientOrder = find('switchyard.order.v1.OrderService/GetOrder', SpanKind.CLIENT);
    const serverOrder = find('switchyard.order.v1.OrderService/GetOrder', SpanKind.SERVER);
    const clientUser = find('switchyard.user.v1.UserService/GetUser', SpanKind.CLIENT);
    const serverUser = find('switchyard.user.v1.UserService/GetUser', SpanKind.SERVER);
    const traceId = clientOrder.spanContext().traceId;
    for (const span of [serverOrder, clientUser, serverUser]) expect(span.spanContext().traceId).toBe(traceId);
    // Each server span hangs under the attempt that reached it, the attempt under the call.
    const parentOf = (span: (typeof spans)[number]) => spans.find((s) => s.spanContext().spanId === span.parentSpanContext?.spanId);
    expect(parentOf(serverOrder)).toMatchObject({ name: 'attempt 1', kind: SpanKind.INTERNAL });
    expect(parentOf(parentOf(serverOrder)!)).toBe(clientOrder);
    expect(clientUser.parentSpanContext?.spanId).toBe(serverOrder.spanContext().spanId);
    expect(parentOf(serverUser)).toMatchObject({ name: 'attempt 1', kind: SpanKind.INTERNAL });
    expect(parentOf(parentOf(serverUser)!)).toBe(clientUser);
    expect(serverUser.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.service': 'switchyard.user.v1.UserService', 'rpc.method': 'GetUser', 'rpc.grpc.status_code': 0 });
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});

describe('client factory', () => {
  it('keeps one client per service and target, even for two services on one address', async () => {
    const { service: users } = flakyUserService(0);
    const orders = defineService('switchyard.order.v1.OrderService', orderV1.OrderServiceService, {
      async getOrder(request) {
        return { order: { id: request.id, userId: 'u1', items: [], totalCents: 0, createTime: new Date(0), requestId: '' } };
      },
      async createOrder() {
        return { order: undefined };
      },
      async listOrders() {
        return { orders: [], nextPageToken: '' };
      },
    });
    const address = await start([users, orders]);
    const factory = clients();
    const userClient = factory.get(userV1.UserServiceClient, address);
    const orderClient = factory.get(orderV1.OrderServiceClient, address);
    expect(factory.get(userV1.UserServiceClient, address)).toBe(userClient);
    expect(orderClient).not.toBe(userClient);
    await expect(callUnary(orderClient.getOrder.bind(orderClient), { id: 'o9' })).resolves.toMatchObject({ order: { id: 'o9' } });
    await expect(callUnary(userClient.getUser.bind(userClient), { id: 'u9' })).resolves.toMatchObject({ user: { id: 'u9' } });
  });
});

describe("the app's own interceptors", () => {
  it('run once per call, inside its span and deadline, outside its retries, and see the status the caller gets', async () => {
    const { service, seen } = flakyUserService(2);
    const address = await start([service]);
    const observed: Array<{ traced: boolean; deadline: unknown; code?: number }> = [];
    const observe: Interceptor = (options, nextCall) => {
      const record: { traced: boolean; deadline: unknown; code?: number } = { traced: trace.getActiveSpan() !== undefined, deadline: options.deadline };
      observed.push(record);
      return new InterceptingCall(nextCall(options), {
        start(metadata, _listener, next) {
          next(metadata, { onReceiveStatus: (status, nextStatus) => ((record.code = status.code), nextStatus(status)) });
        },
      });
    };
    const users = clients({ interceptors: [observe] }).get(userV1.UserServiceClient, address);
    const response = await callUnary(users.getUser.bind(users), { id: 'u1' });
    expect(response.user?.id).toBe('u1');
    // Three attempts reached the server; the app's interceptor saw one call, which succeeded.
    expect(seen.getUser).toBe(3);
    expect(observed).toEqual([{ traced: true, deadline: expect.any(Number), code: Status.OK }]);
  });
});
