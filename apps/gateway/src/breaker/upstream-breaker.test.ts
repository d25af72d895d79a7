import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { descriptorSetBase64, gatewayV1, orderV1, userV1 } from '@switchyard/proto';
import { callUnary, createClientFactory, defineService, idempotentMethodPaths, NotFoundError, RpcMetrics, serve, startMetricsServer, statusError, type ClientFactory } from '@switchyard/runtime';
import { sampleValue, scrapeMetrics } from '@switchyard/runtime/testing';
import { eventually, freePort, startTestServer } from '@switchyard/testing';
import pino from 'pino';
import { toEdgeError } from '../edge-errors';
import { forwardingService } from '../forwarding-service';
import { grpcUpstream } from '../grpc-upstream';
import { PUBLIC_SERVICES } from '../public-services';
import { createGatewayService } from '../user-with-orders';
import { breakerStateGauge } from './breaker-metrics';
import { CircuitBreaker } from './circuit-breaker';

const ada: userV1.User = { id: 'u1', name: 'Ada', email: 'ada@example.com', createTime: new Date('2026-01-01T00:00:00Z'), orderCount: 0, totalSpentCents: 0 };
const order: orderV1.Order = { id: 'o1', userId: 'u1', items: [{ sku: 'book', quantity: 1, unitPriceCents: 1500 }], totalCents: 1500, createTime: new Date('2026-01-02T00:00:00Z'), requestId: '' };
const OPEN_MESSAGE = 'order is unavailable (circuit breaker open); retry later';

const userService = defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
  async getUser(request) {
    if (request.id !== ada.id) throw new NotFoundError('user', request.id);
    return { user: ada };
  },
  async createUser() {
    throw new Error('unused');
  },
  async batchGetUsers() {
    throw new Error('unused');
  },
  async listUsers() {
    throw new Error('unused');
  },
});

/** An order service that answers, hangs (never answers until released) or fails with `code`. */
function orderService(behaviour: 'answer' | 'hang' | { fail: Status }) {
  const state = { calls: 0 };
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const service = defineService('switchyard.order.v1.OrderService', orderV1.OrderServiceService, {
    async listOrders(request) {
      state.calls += 1;
      if (behaviour === 'hang') await released;
      if (typeof behaviour === 'object') throw statusError(behaviour.fail, 'order says no');
      return { orders: request.userId === ada.id ? [order] : [], nextPageToken: '' };
    },
    async getOrder() {
      state.calls += 1;
      if (behaviour === 'hang') await released;
      throw new NotFoundError('order', 'o9');
    },
    async createOrder() {
      throw new Error('unused');
    },
  });
  return { service, state, release };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe('the gateway breaker per upstream, over real sockets', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).reverse().forEach((cleanup) => cleanup()));

  /** The test's own client: a deadline far beyond anything here, so only the gateway's matter. */
  const callerFactory = createClientFactory({ logger: pino({ level: 'silent' }), defaultDeadlineMs: 10_000, idempotentMethods: idempotentMethodPaths(descriptorSetBase64) });
  afterAll(() => callerFactory.close());

  /**
   * A gateway serving GetUserWithOrders and forwarding OrderService, with a breaker on order;
   * its own calls upstream get `upstreamDeadlineMs` (the caller sets none).
   */
  async function gateway(orderAddress: string, breakerOptions: { failures: number; openMs: number; hungAfterMs: number }, upstreamDeadlineMs: number) {
    const logLines: { msg: string; breaker?: string; upstream?: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line)) });
    const factory: ClientFactory = createClientFactory({ logger: pino({ level: 'silent' }), defaultDeadlineMs: upstreamDeadlineMs, idempotentMethods: idempotentMethodPaths(descriptorSetBase64) });
    const users = await startTestServer([userService]);
    const metrics = new RpcMetrics({ defaultMetrics: false });
    const metricsServer = await startMetricsServer(metrics.registry, { host: '127.0.0.1', port: 0 });
    cleanups.push(() => void metricsServer.close());
    const gauge = breakerStateGauge(metrics.registry, ['user', 'order']);
    const breaker = new CircuitBreaker({ upstream: 'order', ...breakerOptions, logger, onStateChange: gauge('order') });
    /** gateway_circuit_breaker_state of `upstream`, scraped from /metrics over HTTP. */
    const breakerGauge = async (upstream: string) => sampleValue(await scrapeMetrics(metricsServer.port), 'gateway_circuit_breaker_state', { upstream });
    const orderPublic = PUBLIC_SERVICES.find((service) => service.app === 'order')!;
    const server = await startTestServer([
      createGatewayService(grpcUpstream(factory, { user: users.address, order: orderAddress }, [], { order: breaker })),
      forwardingService(orderPublic, factory.get(orderPublic.client, orderAddress), { toEdgeError, breaker }),
    ]);
    cleanups.push(() => factory.close(), () => users.stop(), () => server.stop());
    const client = callerFactory.get(gatewayV1.GatewayServiceClient, server.address);
    const orderClient = callerFactory.get(orderV1.OrderServiceClient, server.address);
    const getUserWithOrders = (deadline?: Date) => callUnary(client.getUserWithOrders.bind(client), { userId: 'u1', pageSize: 0 }, { deadline });
    const getOrder = () => callUnary(orderClient.getOrder.bind(orderClient), { id: 'o9' });
    const breakerLog = () => logLines.filter((line) => line.breaker !== undefined).map((line) => line.breaker);
    return { breaker, getUserWithOrders, getOrder, breakerLog, breakerGauge };
  }

  async function orderServerOn(port: number, behaviour: Parameters<typeof orderService>[0]) {
    const order = orderService(behaviour);
    const { server } = await serve([order.service], { host: '127.0.0.1', port });
    const stop = () => {
      order.release();
      server.forceShutdown();
    };
    cleanups.push(stop);
    return { ...order, stop };
  }

  it('opens on a hung order, then answers the user with a partial failure at once, and closes when order is back', async () => {
    const port = await freePort();
    const hung = await orderServerOn(port, 'hang');
    const { breaker, getUserWithOrders, breakerLog, breakerGauge } = await gateway(`127.0.0.1:${port}`, { failures: 3, openMs: 1_000, hungAfterMs: 200 }, 400);
    expect(await breakerGauge('order')).toBe(0);

    // Each waits for the gateway's 400 ms deadline on order: the run that opens the breaker.
    for (let i = 0; i < 3; i += 1) {
      const response = await getUserWithOrders();
      expect(response.user).toEqual(ada);
      expect(response.partialFailures).toEqual([{ source: 'order', code: 'DEADLINE_EXCEEDED', message: 'deadline exceeded' }]);
    }
    expect(breaker.state).toBe('open');
    expect(await breakerGauge('order')).toBe(2);
    expect(await breakerGauge('user')).toBe(0);
    const callsWhenOpened = hung.state.calls;

    // Open: no wait on order's deadline, and order is not called at all.
    const elapsed: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const started = performance.now();
      const response = await getUserWithOrders();
      elapsed.push(performance.now() - started);
      expect(response.user).toEqual(ada);
      expect(response.orders).toEqual([]);
      expect(response.partialFailures).toEqual([{ source: 'order', code: 'UNAVAILABLE', message: OPEN_MESSAGE }]);
    }
    expect(median(elapsed)).toBeLessThan(50);
    expect(hung.state.calls).toBe(callsWhenOpened);
    // One line for the state change, not one per rejected call.
    expect(breakerLog()).toEqual(['open']);

    // Order comes back on the same address: after the cool-down a probe goes through and closes it.
    hung.stop();
    const healthy = await orderServerOn(port, 'answer');
    const response = await eventually(async () => {
      const answer = await getUserWithOrders();
      return answer.orders.length > 0 && answer;
    }, 15_000, 'orders to come back');
    expect(response).toEqual({ user: ada, orders: [order], nextPageToken: '', partialFailures: [] });
    expect(breaker.state).toBe('closed');
    expect(await breakerGauge('order')).toBe(0);
    expect(healthy.state.calls).toBeGreaterThan(0);
    const log = breakerLog();
    expect(log.at(-1)).toBe('closed');
    expect(log.filter((state, i) => state === log[i - 1])).toEqual([]);
  }, 30_000);

  it('half-open, lets one probe through while the others still fail at once, and opens again when the probe hangs', async () => {
    const port = await freePort();
    const hung = await orderServerOn(port, 'hang');
    const { breaker, getUserWithOrders, breakerLog } = await gateway(`127.0.0.1:${port}`, { failures: 1, openMs: 300, hungAfterMs: 200 }, 400);
    await getUserWithOrders();
    expect(breaker.state).toBe('open');
    await new Promise((resolve) => setTimeout(resolve, 400));

    const before = hung.state.calls;
    const responses = await Promise.all(Array.from({ length: 5 }, () => getUserWithOrders()));
    const codes = responses.map((response) => response.partialFailures.map((failure) => failure.code).join()).sort();
    // The probe waited for order's deadline; the four beside it were refused at once.
    expect(codes).toEqual(['DEADLINE_EXCEEDED', 'UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE']);
    expect(hung.state.calls - before).toBe(1);
    expect(breaker.state).toBe('open');
    expect(breakerLog()).toEqual(['open', 'half-open', 'open']);
  }, 30_000);

  it('opens on a stopped order and fails forwarded calls to it at once with UNAVAILABLE naming order', async () => {
    const port = await freePort();
    const { breaker, getUserWithOrders, getOrder, breakerLog } = await gateway(`127.0.0.1:${port}`, { failures: 3, openMs: 60_000, hungAfterMs: 200 }, 2_000);
    for (let i = 0; i < 3; i += 1) {
      const response = await getUserWithOrders();
      expect(response.partialFailures).toEqual([{ source: 'order', code: 'UNAVAILABLE', message: 'the service is unavailable; retry later' }]);
    }
    expect(breaker.state).toBe('open');
    const error = (await getOrder().catch((e: ServiceError) => e)) as ServiceError;
    expect({ code: error.code, details: error.details }).toEqual({ code: Status.UNAVAILABLE, details: OPEN_MESSAGE });
    expect(breakerLog()).toEqual(['open']);
  }, 30_000);

  it('is not opened by callers whose own deadline is too tight to say anything of order', async () => {
    const port = await freePort();
    const hung = await orderServerOn(port, 'hang');
    const { breaker, getUserWithOrders } = await gateway(`127.0.0.1:${port}`, { failures: 3, openMs: 60_000, hungAfterMs: 2_000 }, 10_000);
    for (let i = 0; i < 6; i += 1) {
      // The gateway answers just in time with order's DEADLINE_EXCEEDED as a partial failure, or the caller's deadline passes first.
      const outcome = await getUserWithOrders(new Date(Date.now() + 50)).then(
        (response) => response.partialFailures.map((failure) => failure.code).join(),
        (error: ServiceError) => Status[error.code],
      );
      expect(outcome).toBe('DEADLINE_EXCEEDED');
    }
    expect(breaker.state).toBe('closed');
    expect(hung.state.calls).toBeGreaterThan(0);
  }, 30_000);

  it.each([['NOT_FOUND', Status.NOT_FOUND], ['INVALID_ARGUMENT', Status.INVALID_ARGUMENT], ['RESOURCE_EXHAUSTED', Status.RESOURCE_EXHAUSTED]])('stays closed when order answers %s: the service is up', async (_name, code) => {
    const port = await freePort();
    const failing = await orderServerOn(port, { fail: code });
    const { breaker, getUserWithOrders } = await gateway(`127.0.0.1:${port}`, { failures: 2, openMs: 60_000, hungAfterMs: 200 }, 2_000);
    for (let i = 0; i < 6; i += 1) await getUserWithOrders();
    expect(breaker.state).toBe('closed');
    expect(failing.state.calls).toBe(6);
  }, 30_000);
});
