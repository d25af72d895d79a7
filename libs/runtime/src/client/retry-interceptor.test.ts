import { credentials, InterceptingCall, Metadata, status as Status, type Client, type Interceptor } from '@grpc/grpc-js';
import { ROOT_CONTEXT, SpanKind, TraceFlags, context, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { descriptorSetBase64, orderV1, userV1 } from '@switchyard/proto';
import pino from 'pino';
import { statusError } from '../errors/status-mapping';
import type { CallContext } from '../server/call-context';
import { serve } from '../server/serve';
import { closeAfterEach } from '../server/close-after-each.test-support';
import { defineService } from '../server/service-handlers';
import { tracingMiddleware } from '../server/tracing-middleware';
import { installInMemoryTracing } from '../telemetry/in-memory-tracing.test-support';
import { GRPC_ATTEMPT, GRPC_ATTEMPT_ABANDONED, GRPC_ATTEMPT_BACKOFF_MS, GRPC_ATTEMPT_HEDGED, GRPC_ATTEMPT_PUSHBACK_MS } from './attempt-span';
import { callUnary } from './call-unary';
import { createClientFactory, type ClientFactory, type ClientFactoryOptions } from './client-factory';
import { idempotentMethodPaths } from './method-idempotency';
import { PREVIOUS_ATTEMPTS_KEY } from './multi-attempt-call';
import { retryInterceptor } from './retry-interceptor';
import { parseRetryPolicy } from './retry-policy-config';
import { RETRY_PUSHBACK_KEY } from './retry-pushback';
import { tracingInterceptor } from './tracing-interceptor';

const logger = pino({ level: 'silent' });
const tracing = installInMemoryTracing();
afterAll(() => tracing.uninstall());

const GET_USER = '/switchyard.user.v1.UserService/GetUser';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Seen {
  method: string;
  /** Date.now() when the server began handling this attempt. */
  at: number;
  previousAttempts: string | undefined;
  traceparent: string | undefined;
  cancelled: boolean;
}

/**
 * UserService and OrderService on one real server, every method answering through `script`:
 * it gets the method name, the attempt number (per method, 1-based) and the call's signal, and
 * returns nothing for OK or throws a status. Each attempt the server sees is recorded with its
 * arrival time.
 */
function scriptedServer(script: (method: string, n: number, signal: AbortSignal) => void | Promise<void>) {
  const seen: Seen[] = [];
  const count = (method: string) => seen.filter((s) => s.method === method).length;
  const handle =
    <Res>(method: string, response: Res) =>
    async (_request: unknown, ctx: CallContext): Promise<Res> => {
      const entry: Seen = {
        method,
        at: Date.now(),
        previousAttempts: ctx.metadata.get(PREVIOUS_ATTEMPTS_KEY)[0] as string | undefined,
        traceparent: ctx.metadata.get('traceparent')[0] as string | undefined,
        cancelled: false,
      };
      seen.push(entry);
      ctx.signal.addEventListener('abort', () => void (entry.cancelled = true));
      await script(method, count(method), ctx.signal);
      return response;
    };
  const user: userV1.User = { id: 'u1', name: 'Ada', email: 'ada@example.com', createTime: new Date(0), orderCount: 0, totalSpentCents: 0 };
  const services = [
    defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
      getUser: handle('getUser', { user }),
      createUser: handle('createUser', { user }),
      batchGetUsers: handle('batchGetUsers', { users: [] }),
      listUsers: handle('listUsers', { users: [], nextPageToken: '' }),
    }),
    defineService('switchyard.order.v1.OrderService', orderV1.OrderServiceService, {
      getOrder: handle('getOrder', { order: undefined }),
      createOrder: handle('createOrder', { order: undefined }),
      listOrders: handle('listOrders', { orders: [], nextPageToken: '' }),
    }),
  ];
  return { services, seen, count };
}

const unavailable = (details: string, pushback?: string) => {
  const trailers = new Metadata();
  if (pushback !== undefined) trailers.set(RETRY_PUSHBACK_KEY, pushback);
  return statusError(Status.UNAVAILABLE, details, trailers);
};
const alwaysUnavailable = (_method: string, n: number) => {
  throw unavailable(`attempt ${n} refused`);
};

const opened = closeAfterEach();
afterEach(() => tracing.exporter.reset());

async function start(script: Parameters<typeof scriptedServer>[0]) {
  const server = scriptedServer(script);
  const serving = await serve(server.services, { host: '127.0.0.1', port: 0, middleware: [tracingMiddleware] });
  opened.server(serving.server);
  return { ...server, address: `127.0.0.1:${serving.port}` };
}

function clients(overrides: Partial<ClientFactoryOptions> = {}): ClientFactory {
  const factory = createClientFactory({
    logger,
    defaultDeadlineMs: 5000,
    idempotentMethods: idempotentMethodPaths(descriptorSetBase64),
    retry: { initialBackoffMs: 5, random: () => 1, maxAttempts: 5 },
    ...overrides,
  });
  opened.client(factory);
  return factory;
}

const getUser = (users: userV1.UserServiceClient, options?: Parameters<typeof callUnary>[2]) => callUnary(users.getUser.bind(users), { id: 'u1' }, options);

const spansNamed = (prefix: string) =>
  tracing.exporter
    .getFinishedSpans()
    .filter((span) => span.name.startsWith(prefix))
    .sort((a, b) => Number(a.attributes[GRPC_ATTEMPT]) - Number(b.attributes[GRPC_ATTEMPT]));
const clientSpan = (): ReadableSpan => {
  const span = tracing.exporter.getFinishedSpans().find((s) => s.kind === SpanKind.CLIENT);
  if (!span) throw new Error('no CLIENT span');
  return span;
};

const hrMillis = ([seconds, nanos]: [number, number]) => seconds * 1000 + nanos / 1e6;

describe('retry throttling (one token bucket per target)', () => {
  it('stops retrying once the bucket is at half, for every client and method on the target, and starts again after successes', async () => {
    let failing = true;
    const server = await start((method, n) => {
      if (failing) throw unavailable(`${method} ${n} refused`);
    });
    const other = await start(alwaysUnavailable);
    // 6 tokens: retries go out while more than 3 are left; each OK puts back 0.5.
    const factory = clients({ retryPolicy: { retryThrottling: { maxTokens: 6, tokenRatio: 0.5 } } });
    const users = factory.get(userV1.UserServiceClient, server.address);

    // 6 -> 5 -> 4 -> 3: the third failure leaves exactly half, so no fourth attempt although maxAttempts is 5.
    await expect(getUser(users)).rejects.toMatchObject({ code: Status.UNAVAILABLE, details: 'getUser 3 refused' });
    expect(server.count('getUser')).toBe(3);
    // The bucket is the target's: another method on it gets no retry either.
    await expect(callUnary(users.batchGetUsers.bind(users), { ids: [] })).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    expect(server.count('batchGetUsers')).toBe(1);
    // Another target has its own full bucket: 6 -> ... -> 3 again.
    await expect(getUser(factory.get(userV1.UserServiceClient, other.address))).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    expect(other.count('getUser')).toBe(3);

    // 2 tokens now. Six successes bring back 3 (to 5), so the next failure (to 4) may retry once more (to 3).
    failing = false;
    for (let i = 0; i < 6; i += 1) await getUser(users);
    failing = true;
    const before = server.count('getUser');
    await expect(getUser(users)).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    expect(server.count('getUser') - before).toBe(2);
  });

  it('is on by default with 100 tokens: a target failing every call stops getting retries after 50 failures', async () => {
    const server = await start(alwaysUnavailable);
    const users = clients().get(userV1.UserServiceClient, server.address);
    // 10 calls x 5 attempts take the bucket from 100 to 50: the last attempt of the 10th finds it at half.
    for (let i = 0; i < 10; i += 1) await expect(getUser(users)).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    expect(server.count('getUser')).toBe(50);
    await expect(getUser(users)).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    expect(server.count('getUser')).toBe(51);
  });

  it('is off with retryThrottling: false: every call gets its maxAttempts', async () => {
    const server = await start(alwaysUnavailable);
    const users = clients({ retryPolicy: { retryThrottling: false } }).get(userV1.UserServiceClient, server.address);
    for (let i = 0; i < 12; i += 1) await expect(getUser(users)).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    expect(server.count('getUser')).toBe(60);
  });
});

describe('server pushback (grpc-retry-pushback-ms)', () => {
  it('waits the pushback instead of the backoff, and the next backoff starts over', async () => {
    const server = await start((_method, n) => {
      if (n === 1) throw unavailable('come back in 300 ms', '300');
      if (n === 2) throw unavailable('no pushback this time');
    });
    // The computed backoff would be 1 ms: only the pushback explains a 300 ms gap. Had the pushback
    // not restarted the sequence, the second backoff would be 1 * 60000 ms, past the deadline, and
    // the call would end with the second attempt's UNAVAILABLE: its success says the third attempt
    // came after 1 ms, however slow the machine.
    const users = clients({ retry: { initialBackoffMs: 1, maxBackoffMs: 60_000, backoffMultiplier: 60_000, random: () => 1, maxAttempts: 5 } }).get(
      userV1.UserServiceClient,
      server.address,
    );
    await getUser(users, { deadline: new Date(Date.now() + 20_000) });
    const [first, second] = server.seen;
    expect(server.count('getUser')).toBe(3);
    // Timers may fire up to 1 ms early against Date.now(); never late enough to matter here.
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(299);
    const attempts = spansNamed('attempt');
    expect(attempts[1]!.attributes).toMatchObject({ [GRPC_ATTEMPT_PUSHBACK_MS]: 300, [GRPC_ATTEMPT_BACKOFF_MS]: 300 });
    expect(attempts[2]!.attributes).toMatchObject({ [GRPC_ATTEMPT_BACKOFF_MS]: 1 });
    expect(attempts[2]!.attributes[GRPC_ATTEMPT_PUSHBACK_MS]).toBeUndefined();
  });

  it.each(['-1', 'soon', '1.5', ''])('does not retry after a pushback of %j (negative or malformed)', async (pushback) => {
    const server = await start(() => {
      throw unavailable('do not come back', pushback);
    });
    const users = clients().get(userV1.UserServiceClient, server.address);
    await expect(getUser(users)).rejects.toMatchObject({ code: Status.UNAVAILABLE, details: 'do not come back' });
    expect(server.count('getUser')).toBe(1);
  });

  it('does not wait a pushback past the deadline', async () => {
    const server = await start(() => {
      throw unavailable('come back in 20 s', '20000');
    });
    const users = clients().get(userV1.UserServiceClient, server.address);
    // Waiting the pushback would end the call, 20 s later, in DEADLINE_EXCEEDED: it ends at once
    // with the server's own answer instead.
    await expect(getUser(users, { deadline: new Date(Date.now() + 10_000) })).rejects.toMatchObject({ code: Status.UNAVAILABLE, details: 'come back in 20 s' });
    expect(server.count('getUser')).toBe(1);
  });
});

describe('per-method policies', () => {
  it('applies the method entry, then the service entry, then the default, field by field', async () => {
    const server = await start((method, n) => {
      if (method === 'listUsers') throw statusError(Status.RESOURCE_EXHAUSTED, `busy ${n}`);
      throw unavailable(`${method} ${n} refused`);
    });
    const factory = clients({
      retryPolicy: {
        default: { maxAttempts: 2 },
        services: { 'switchyard.user.v1.UserService': { maxAttempts: 3 } },
        methods: {
          [GET_USER]: { maxAttempts: 4 },
          '/switchyard.user.v1.UserService/ListUsers': { retryableCodes: new Set([Status.RESOURCE_EXHAUSTED]) },
        },
      },
    });
    const users = factory.get(userV1.UserServiceClient, server.address);
    // A server of its own: the factory keys clients by constructor name, the same for every generated client.
    const orderServer = await start(alwaysUnavailable);
    const orders = factory.get(orderV1.OrderServiceClient, orderServer.address);
    await expect(getUser(users)).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    await expect(callUnary(users.batchGetUsers.bind(users), { ids: ['u1'] })).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    await expect(callUnary(users.listUsers.bind(users), { pageSize: 1, pageToken: '' })).rejects.toMatchObject({ code: Status.RESOURCE_EXHAUSTED });
    await expect(callUnary(orders.getOrder.bind(orders), { id: 'o1' })).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    expect(server.count('getUser')).toBe(4); // method entry
    expect(server.count('batchGetUsers')).toBe(3); // service entry
    expect(server.count('listUsers')).toBe(3); // method's codes, service's maxAttempts
    expect(orderServer.count('getOrder')).toBe(2); // default entry
    // Retries tell the server how many attempts came before (gRFC A6).
    expect(server.seen.filter((s) => s.method === 'getUser').map((s) => s.previousAttempts)).toEqual([undefined, '1', '2', '3']);
  });

  it('reads the same table from RETRY_POLICY', async () => {
    const server = await start(alwaysUnavailable);
    const retryPolicy = parseRetryPolicy(
      JSON.stringify({ default: { maxAttempts: 2, initialBackoffMs: 1 }, methods: { [GET_USER]: { maxAttempts: 3, retryableStatusCodes: ['UNAVAILABLE'] } } }),
    );
    const factory = clients({ retryPolicy });
    const users = factory.get(userV1.UserServiceClient, server.address);
    await expect(getUser(users)).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    await expect(callUnary(users.listUsers.bind(users), { pageSize: 1, pageToken: '' })).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    expect(server.count('getUser')).toBe(3);
    expect(server.count('listUsers')).toBe(2);
  });

  it('caps maxAttempts at 5, as gRFC A6 says, wherever it is set', async () => {
    const server = await start(alwaysUnavailable);
    const factory = clients({ retry: { maxAttempts: 9, initialBackoffMs: 1, random: () => 1 }, retryPolicy: { methods: { [GET_USER]: { maxAttempts: 100 } } } });
    const users = factory.get(userV1.UserServiceClient, server.address);
    await expect(getUser(users)).rejects.toMatchObject({ code: Status.UNAVAILABLE, details: 'attempt 5 refused' });
    await expect(callUnary(users.batchGetUsers.bind(users), { ids: [] })).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    expect(server.count('getUser')).toBe(5);
    expect(server.count('batchGetUsers')).toBe(5);
  });

  it('still never repeats a non-idempotent method without a request id, whatever the policy says', async () => {
    const server = await start(alwaysUnavailable);
    const users = clients({ retryPolicy: { default: { maxAttempts: 5 } } }).get(userV1.UserServiceClient, server.address);
    await expect(callUnary(users.createUser.bind(users), { name: 'a', email: 'a@b.c' })).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    expect(server.count('createUser')).toBe(1);
  });
});

describe('attempt spans', () => {
  it('makes each attempt a child span of the call span, with its number, backoff and status', async () => {
    const server = await start((_method, n) => {
      if (n <= 2) throw unavailable(`attempt ${n} refused`);
    });
    const users = clients({ retry: { initialBackoffMs: 10, random: () => 1 } }).get(userV1.UserServiceClient, server.address);
    await getUser(users);

    const call = clientSpan();
    const attempts = spansNamed('attempt');
    expect(attempts.map((s) => s.name)).toEqual(['attempt 1', 'attempt 2', 'attempt 3']);
    for (const attempt of attempts) {
      expect(attempt.parentSpanContext?.spanId).toBe(call.spanContext().spanId);
      expect(attempt.spanContext().traceId).toBe(call.spanContext().traceId);
    }
    expect(attempts.map((s) => s.attributes)).toEqual([
      { [GRPC_ATTEMPT]: 1, [GRPC_ATTEMPT_BACKOFF_MS]: 0, 'rpc.grpc.status_code': Status.UNAVAILABLE },
      { [GRPC_ATTEMPT]: 2, [GRPC_ATTEMPT_BACKOFF_MS]: 10, 'rpc.grpc.status_code': Status.UNAVAILABLE },
      { [GRPC_ATTEMPT]: 3, [GRPC_ATTEMPT_BACKOFF_MS]: 20, 'rpc.grpc.status_code': Status.OK },
    ]);
    // Attempts run one after the other, inside the call span.
    expect(hrMillis(attempts[0]!.endTime)).toBeLessThanOrEqual(hrMillis(attempts[1]!.startTime));
    // Each attempt carries its own traceparent: the server span it reached is its child.
    const serverSpans = tracing.exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
    expect(serverSpans).toHaveLength(3);
    const serverParents = serverSpans.map((span) => span.parentSpanContext?.spanId).sort();
    expect(serverParents).toEqual(attempts.map((attempt) => attempt.spanContext().spanId).sort());
  });

  it("gives every attempt of a call that is not recorded the call's unsampled traceparent, and makes no spans", async () => {
    const server = await start((_method, n) => {
      if (n === 1) throw unavailable('first refused');
    });
    const users = clients().get(userV1.UserServiceClient, server.address);
    // A caller whose own caller did not sample the trace: parent-based sampling records nothing below it.
    const unsampledParent = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.NONE });
    await context.with(trace.setSpan(ROOT_CONTEXT, unsampledParent), () => getUser(users));
    const sent = server.seen.map((s) => s.traceparent);
    expect(sent).toHaveLength(2);
    // Both attempts carry the caller's context: no span is made under an unsampled one, and the
    // trace and the decision not to sample pass on unchanged.
    expect(sent[0]).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00');
    expect(sent[1]).toBe(sent[0]);
    expect(tracing.exporter.getFinishedSpans()).toEqual([]);
  });

  it('makes the attempt span active while inner interceptors create the attempt', async () => {
    const server = await start((_method, n) => {
      if (n === 1) throw unavailable('first refused');
    });
    const activeAtCreation: (string | undefined)[] = [];
    const probe: Interceptor = (options, nextCall) => {
      activeAtCreation.push(trace.getActiveSpan()?.spanContext().spanId);
      return new InterceptingCall(nextCall(options));
    };
    const users = new userV1.UserServiceClient(server.address, credentials.createInsecure(), {
      interceptors: [tracingInterceptor, retryInterceptor({ initialBackoffMs: 5, random: () => 1 }), probe],
    });
    opened.client(users as Client);
    await getUser(users);
    expect(activeAtCreation).toEqual(spansNamed('attempt').map((s) => s.spanContext().spanId));
  });

  it('parents retries started from timers under their own call, not the context of whoever opened the connection', async () => {
    const server = await start((_method, n) => {
      if (n <= 3) throw unavailable(`attempt ${n} refused`);
    });
    const users = clients({ retry: { initialBackoffMs: 20, random: () => 1 } }).get(userV1.UserServiceClient, server.address);
    const tracer = trace.getTracer('test');
    // Two calls under two parents on one connection, retrying in step.
    await Promise.all(
      ['caller A', 'caller B'].map((name) => tracer.startActiveSpan(name, (parent) => getUser(users).finally(() => parent.end()))),
    );
    const spans = tracing.exporter.getFinishedSpans();
    const calls = spans.filter((s) => s.kind === SpanKind.CLIENT);
    expect(calls).toHaveLength(2);
    // Four failures then successes, over two calls: 5 attempts, each under its own call's span,
    // numbered 1, 2, ... within that call.
    const attempts = spans.filter((s) => s.name.startsWith('attempt'));
    expect(attempts).toHaveLength(5);
    const perCall = calls.map((call) => attempts.filter((s) => s.parentSpanContext?.spanId === call.spanContext().spanId));
    expect(perCall[0]!.length + perCall[1]!.length).toBe(5);
    calls.forEach((call, i) => {
      expect(perCall[i]!.map((s) => s.attributes[GRPC_ATTEMPT]).sort()).toEqual(perCall[i]!.map((_, n) => n + 1));
      for (const attempt of perCall[i]!) expect(attempt.spanContext().traceId).toBe(call.spanContext().traceId);
    });
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});

describe('cancellation', () => {
  it('a caller that cancels during the backoff gets CANCELLED and no further attempt', async () => {
    const server = await start(alwaysUnavailable);
    const controller = new AbortController();
    // Below the retry interceptor: sees each attempt end, after the retry interceptor has started
    // its backoff timer, and cancels the call right then, so the cancel lands in the backoff
    // whatever the machine's speed.
    const cancelAfterFirstAttempt: Interceptor = (options, nextCall) =>
      new InterceptingCall(nextCall(options), {
        start: (metadata, _listener, next) =>
          next(metadata, {
            onReceiveStatus: (status, nextStatus) => {
              nextStatus(status);
              controller.abort();
            },
          }),
      });
    const users = new userV1.UserServiceClient(server.address, credentials.createInsecure(), {
      interceptors: [tracingInterceptor, retryInterceptor({ initialBackoffMs: 300, random: () => 1 }), cancelAfterFirstAttempt],
    });
    opened.client(users as Client);
    await expect(getUser(users, { signal: controller.signal })).rejects.toMatchObject({ code: Status.CANCELLED });
    expect(spansNamed('attempt')).toHaveLength(1);
    // Past the backoff, with a wide margin: still the one attempt.
    await sleep(1000);
    expect(server.count('getUser')).toBe(1);
    expect(spansNamed('attempt')).toHaveLength(1);
  });
});

describe('hedging (off by default)', () => {
  const hedgeGetUser = (hedging: { maxAttempts: number; hedgingDelayMs: number; nonFatalCodes?: Set<Status> }) => ({
    methods: { [GET_USER]: { hedging: { nonFatalCodes: new Set([Status.UNAVAILABLE]), ...hedging } } },
  });

  it('sends another attempt after hedgingDelay; the first answer wins and the slow one is cancelled', async () => {
    // The first attempt answers only once cancelled: the call's answer can only be the hedge's.
    let firstCancelled!: () => void;
    const firstEnded = new Promise<void>((resolve) => (firstCancelled = resolve));
    const server = await start(async (_method, n, signal) => {
      if (n > 1) return;
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
      firstCancelled();
    });
    // Two attempts at most: a third, hedged while the second is on its way, would muddle the count.
    const users = clients({ retryPolicy: hedgeGetUser({ maxAttempts: 2, hedgingDelayMs: 50 }) }).get(userV1.UserServiceClient, server.address);
    const response = await getUser(users);
    expect(response.user?.id).toBe('u1');
    await firstEnded;
    expect(server.seen.map((s) => s.cancelled)).toEqual([true, false]);
    const attempts = spansNamed('attempt');
    expect(hrMillis(attempts[1]!.startTime) - hrMillis(attempts[0]!.startTime)).toBeGreaterThanOrEqual(49);
    expect(attempts.map((s) => s.attributes)).toEqual([
      { [GRPC_ATTEMPT]: 1, [GRPC_ATTEMPT_BACKOFF_MS]: 0, 'rpc.grpc.status_code': Status.CANCELLED, [GRPC_ATTEMPT_ABANDONED]: true },
      { [GRPC_ATTEMPT]: 2, [GRPC_ATTEMPT_BACKOFF_MS]: 50, [GRPC_ATTEMPT_HEDGED]: true, 'rpc.grpc.status_code': Status.OK },
    ]);
  });

  it('sends the next attempt at once after a non-fatal status, and answers with a fatal one', async () => {
    const server = await start((_method, n) => {
      if (n === 1) throw unavailable('non-fatal');
      throw statusError(Status.NOT_FOUND, 'fatal');
    });
    // A hedging delay past the deadline: the second attempt can only be the one a non-fatal status sends at once.
    const users = clients({ retryPolicy: hedgeGetUser({ maxAttempts: 5, hedgingDelayMs: 60_000 }) }).get(userV1.UserServiceClient, server.address);
    await expect(getUser(users, { deadline: new Date(Date.now() + 10_000) })).rejects.toMatchObject({ code: Status.NOT_FOUND });
    expect(server.count('getUser')).toBe(2);
  });

  it('answers with the last non-fatal status once maxAttempts (capped at 5) are spent', async () => {
    const server = await start(alwaysUnavailable);
    const users = clients({ retryPolicy: hedgeGetUser({ maxAttempts: 8, hedgingDelayMs: 10 }) }).get(userV1.UserServiceClient, server.address);
    await expect(getUser(users)).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    expect(server.count('getUser')).toBe(5);
  });

  it('never hedges a method the protos do not mark idempotent, even with a request id', async () => {
    const server = await start(async () => {
      await sleep(200);
    });
    const factory = clients({
      retryPolicy: { methods: { '/switchyard.order.v1.OrderService/CreateOrder': { hedging: { maxAttempts: 3, hedgingDelayMs: 10, nonFatalCodes: new Set() } } } },
    });
    const orders = factory.get(orderV1.OrderServiceClient, server.address);
    await callUnary(orders.createOrder.bind(orders), { userId: 'u1', items: [], requestId: 'r-1' });
    expect(server.count('createOrder')).toBe(1);
  });
});
