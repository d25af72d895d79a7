import { performance } from 'node:perf_hooks';
import { credentials, status as Status } from '@grpc/grpc-js';
import { orderV1, userV1 } from '@switchyard/proto';
import pino from 'pino';
import { callUnary } from '../client/call-unary';
import { loadFaultRules } from '../config/fault-injection-config';
import { NotFoundError } from '../errors/domain-errors';
import { faultInjectionMiddleware, seededRandom, type FaultInjectionOptions } from './fault-injection-middleware';
import { closeAfterEach } from './close-after-each.test-support';
import { serve } from './serve';
import type { CallOutcome, ServerMiddleware } from './server-middleware';
import { defineService } from './service-handlers';

const user = (id: string): userV1.User => ({ id, name: 'Ada', email: 'ada@example.com', createTime: new Date(0), orderCount: 0, totalSpentCents: 0 });

/** A UserService and an OrderService that count what their handlers did. */
function stubServices() {
  const seen = { getUser: 0, createUser: 0, getUserStartedAt: [] as number[], orders: new Map<string, orderV1.Order>() };
  const users = defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
    async getUser(request) {
      seen.getUserStartedAt.push(performance.now());
      seen.getUser += 1;
      return { user: user(request.id) };
    },
    async createUser(request) {
      seen.createUser += 1;
      return { user: { ...user('u-new'), name: request.name, email: request.email } };
    },
    async batchGetUsers() {
      return { users: [] };
    },
    async listUsers() {
      return { users: [], nextPageToken: '' };
    },
  });
  const orders = defineService('switchyard.order.v1.OrderService', orderV1.OrderServiceService, {
    // The write commits before the response goes out: the case abort-after-commit simulates.
    async createOrder(request) {
      const order = { id: `o${seen.orders.size + 1}`, userId: request.userId, items: request.items, totalCents: 0, createTime: new Date(0), requestId: request.requestId };
      seen.orders.set(order.id, order);
      return { order };
    },
    async getOrder(request) {
      const order = seen.orders.get(request.id);
      if (!order) throw new NotFoundError('order', request.id);
      return { order };
    },
    async listOrders() {
      return { orders: [], nextPageToken: '' };
    },
  });
  return { services: [users, orders], seen };
}

const opened = closeAfterEach();

/** Serves the stubs behind `middleware` on 127.0.0.1:0 and returns real clients of them. */
async function start(middleware: ServerMiddleware[]) {
  const { services, seen } = stubServices();
  const serving = await serve(services, { host: '127.0.0.1', port: 0, middleware });
  opened.server(serving.server);
  const address = `127.0.0.1:${serving.port}`;
  const userClient = opened.client(new userV1.UserServiceClient(address, credentials.createInsecure()));
  const orderClient = opened.client(new orderV1.OrderServiceClient(address, credentials.createInsecure()));
  const deadline = () => new Date(Date.now() + 5000);
  return {
    seen,
    getUser: (id = 'u1', options: { signal?: AbortSignal } = {}) => callUnary(userClient.getUser.bind(userClient), { id }, { deadline: deadline(), ...options }),
    createUser: () => callUnary(userClient.createUser.bind(userClient), { name: 'Ada', email: 'ada@example.com' }, { deadline: deadline() }),
    createOrder: (requestId = 'r1') => callUnary(orderClient.createOrder.bind(orderClient), { userId: 'u1', items: [], requestId }, { deadline: deadline() }),
    getOrder: (id: string) => callUnary(orderClient.getOrder.bind(orderClient), { id }, { deadline: deadline() }),
  };
}

/** A server with only the fault middleware, rules read from a FAULTS value. */
const startWithFaults = (faults: string, options: FaultInjectionOptions = {}) => start([faultInjectionMiddleware(loadFaultRules({ FAULTS: faults }), options)]);

/** What each call resolved to: its status code, OK included. */
const codeOf = (call: Promise<unknown>) =>
  call.then(
    () => Status.OK,
    (error: { code: Status }) => error.code,
  );

/** Returns `values` in turn, over and over, and counts how often it was asked. */
function scriptedRandom(...values: number[]) {
  const random = Object.assign(() => values[random.calls++ % values.length], { calls: 0 });
  return random;
}

/** A pino logger whose lines land in `lines`. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe('faultInjectionMiddleware', () => {
  it('is off by default: no FAULTS, no rolls, every call reaches its handler', async () => {
    const never = () => {
      throw new Error('rolled with no rules');
    };
    const api = await start([faultInjectionMiddleware(loadFaultRules({}), { random: never })]);
    await expect(api.getUser()).resolves.toMatchObject({ user: { id: 'u1' } });
    await expect(api.createOrder()).resolves.toMatchObject({ order: { id: 'o1' } });
    expect(api.seen.getUser).toBe(1);
    expect(api.seen.orders.size).toBe(1);
  });

  it('aborts at 100% without ever running the handler, and says the error was injected', async () => {
    const { logger, lines } = capturingLogger();
    const api = await startWithFaults('GetUser:abort=UNAVAILABLE@100%', { logger });
    for (let i = 0; i < 5; i += 1) {
      await expect(api.getUser()).rejects.toMatchObject({
        code: Status.UNAVAILABLE,
        details: 'fault injected: UNAVAILABLE before the handler ran (rule "GetUser:abort=UNAVAILABLE@100%")',
      });
    }
    expect(api.seen.getUser).toBe(0);
    // Other methods are untouched.
    await expect(api.createUser()).resolves.toMatchObject({ user: { name: 'Ada' } });
    expect(lines.filter((line) => line.level === 40)).toEqual([expect.objectContaining({ faults: ['GetUser:abort=UNAVAILABLE@100%'] })]);
    const injections = lines.filter((line) => line.msg === 'fault injected');
    expect(injections).toHaveLength(5);
    expect(injections[0]).toMatchObject({
      level: 20,
      method: '/switchyard.user.v1.UserService/GetUser',
      fault: 'abort',
      code: 'UNAVAILABLE',
      rule: 'GetUser:abort=UNAVAILABLE@100%',
    });
  });

  it('never injects a 0% fault', async () => {
    const api = await startWithFaults('GetUser:delay=60s@0%,abort=UNAVAILABLE@0%,abort-after-commit=INTERNAL@0%');
    const codes = await Promise.all(Array.from({ length: 20 }, () => codeOf(api.getUser())));
    expect(codes).toEqual(Array(20).fill(Status.OK));
    expect(api.seen.getUser).toBe(20);
  });

  it('hits a call when random() * 100 falls below the percentage', async () => {
    const random = scriptedRandom(0.1, 0.5, 0.299, 0.3, 0.99);
    const api = await startWithFaults('GetUser:abort=RESOURCE_EXHAUSTED@30%', { random });
    const codes = [];
    for (let i = 0; i < 5; i += 1) codes.push(await codeOf(api.getUser()));
    const [hit, miss] = [Status.RESOURCE_EXHAUSTED, Status.OK];
    expect(codes).toEqual([hit, miss, hit, miss, miss]);
    expect(api.seen.getUser).toBe(3);
    expect(random.calls).toBe(5);
  });

  it('repeats the same pattern of faults from the same seed', async () => {
    const pattern = async () => {
      const api = await startWithFaults('GetUser:abort=UNAVAILABLE@50%', { random: seededRandom(7) });
      const codes = [];
      for (let i = 0; i < 20; i += 1) codes.push(await codeOf(api.getUser()));
      return codes;
    };
    const first = await pattern();
    expect(await pattern()).toEqual(first);
    expect(first).toContain(Status.OK);
    expect(first).toContain(Status.UNAVAILABLE);
  });

  it('delays the handler by at least the configured time', async () => {
    const delayMs = 150;
    const api = await startWithFaults(`GetUser:delay=${delayMs}ms`);
    const sent = performance.now();
    await expect(api.getUser()).resolves.toMatchObject({ user: { id: 'u1' } });
    // The timer counts in whole milliseconds of the event loop's clock, so it may fire up to 1 ms
    // short of `sent + delayMs` as measured by performance.now().
    expect(api.seen.getUserStartedAt[0] - sent).toBeGreaterThanOrEqual(delayMs - 1);
  });

  it('gives up a delay as soon as the caller leaves, without running the handler', async () => {
    const outcomes: Promise<CallOutcome>[] = [];
    let delaying!: () => void;
    const inDelay = new Promise<void>((resolve) => (delaying = resolve));
    const recordOutcome: ServerMiddleware = (_call, next) => {
      const outcome = next();
      outcomes.push(outcome);
      delaying();
      return outcome;
    };
    const api = await start([recordOutcome, faultInjectionMiddleware(loadFaultRules({ FAULTS: 'GetUser:delay=60s' }))]);
    const controller = new AbortController();
    // The caller leaves once the server is in the delay, however long the call took to get there.
    void inDelay.then(() => controller.abort());
    await expect(api.getUser('u1', { signal: controller.signal })).rejects.toMatchObject({ code: Status.CANCELLED });
    await expect(outcomes[0]).resolves.toMatchObject({
      code: Status.CANCELLED,
      error: expect.objectContaining({ details: expect.stringMatching(/^fault injected: delay of 60000ms cut short/) }),
    });
    expect(api.seen.getUser).toBe(0);
  });

  it('after commit: the handler runs and its write stays, yet the client gets the code instead of the response', async () => {
    const api = await startWithFaults('CreateOrder:abort-after-commit=UNAVAILABLE');
    await expect(api.createOrder('r1')).rejects.toMatchObject({
      code: Status.UNAVAILABLE,
      details: 'fault injected: UNAVAILABLE after the handler completed; its response was dropped (rule "CreateOrder:abort-after-commit=UNAVAILABLE")',
    });
    await expect(api.createOrder('r2')).rejects.toMatchObject({ code: Status.UNAVAILABLE });
    expect([...api.seen.orders.values()].map((order) => order.requestId)).toEqual(['r1', 'r2']);
  });

  it('after commit: leaves a failed call as the handler failed it, without rolling', async () => {
    const random = scriptedRandom(0);
    const api = await startWithFaults('GetOrder:abort-after-commit=UNAVAILABLE', { random });
    await expect(api.getOrder('missing')).rejects.toMatchObject({ code: Status.NOT_FOUND, details: 'order "missing" not found' });
    expect(random.calls).toBe(0);
  });

  it('applies * to every method of every service', async () => {
    const api = await startWithFaults('*:abort=UNAVAILABLE');
    const codes = await Promise.all([api.getUser(), api.createUser(), api.createOrder(), api.getOrder('o1')].map(codeOf));
    expect(codes).toEqual(Array(4).fill(Status.UNAVAILABLE));
    expect(api.seen.getUser + api.seen.createUser + api.seen.orders.size).toBe(0);
  });

  it('matches a full path only in its own service, and a bare name in any', async () => {
    const ours = await startWithFaults('/switchyard.user.v1.UserService/GetUser:abort=UNAVAILABLE');
    expect(await codeOf(ours.getUser())).toBe(Status.UNAVAILABLE);
    expect(await codeOf(ours.createUser())).toBe(Status.OK);
    const another = await startWithFaults('/switchyard.other.v1.UserService/GetUser:abort=UNAVAILABLE');
    expect(await codeOf(another.getUser())).toBe(Status.OK);
  });

  it('takes the most specific rule of each kind: full path, then method name, then *', async () => {
    const api = await startWithFaults(
      '*:abort=UNAVAILABLE;CreateUser:abort=INTERNAL;/switchyard.user.v1.UserService/CreateUser:abort=ABORTED;GetUser:abort=UNAVAILABLE@0%',
    );
    expect(await codeOf(api.getUser())).toBe(Status.OK);
    expect(await codeOf(api.createUser())).toBe(Status.ABORTED);
    expect(await codeOf(api.createOrder())).toBe(Status.UNAVAILABLE);
  });
});

describe('seededRandom', () => {
  it('gives the same numbers in [0, 1) for the same seed', () => {
    const [a, b, c] = [seededRandom(1), seededRandom(1), seededRandom(2)];
    const first = Array.from({ length: 1000 }, a);
    expect(Array.from({ length: 1000 }, b)).toEqual(first);
    expect(Array.from({ length: 1000 }, c)).not.toEqual(first);
    expect(first.every((n) => n >= 0 && n < 1)).toBe(true);
  });
});
