import { credentials, Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { orderV1 } from '@switchyard/proto';
import { callUnary, NotFoundError, statusError, type CallContext } from '@switchyard/runtime';
import { encodePageToken, openDatabase, type StorageEngine } from '@switchyard/storage';
import { createScratchStorage, type ScratchStorage } from '@switchyard/storage/testing';
import { badRequestFields, startTestServer, type TestServer } from '@switchyard/testing';
import type { Kysely } from 'kysely';
import pino from 'pino';
import { createKyselyOrderRepository } from './kysely-order-repository';
import { orderMigrations } from './order-migrations';
import type { OrderDatabase } from './order-schema';
import { createOrderService, orderServiceHandlers } from './order-service';
import type { UserDirectory } from './user-directory';

const logger = pino({ level: 'silent' });

async function failureOf(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected the call to fail');
}

/** A user directory that knows `users`; `failWith` makes it answer with that error instead. */
class FakeUserDirectory implements UserDirectory {
  readonly users = new Set<string>(['ada', 'bob']);
  calls = 0;
  failWith: Error | undefined;
  /** Runs during the check, e.g. to cancel the call while the user is being looked up. */
  duringCheck: (() => void) | undefined;

  async assertUserExists(userId: string, signal: AbortSignal): Promise<void> {
    this.calls += 1;
    this.duringCheck?.();
    signal.throwIfAborted();
    if (this.failWith) throw this.failWith;
    if (!this.users.has(userId)) throw new NotFoundError('user', userId);
  }
}

const book = { sku: 'book', quantity: 2, unitPriceCents: 1500 };
const pen = { sku: 'pen', quantity: 3, unitPriceCents: 120 };

describe.each<StorageEngine>(['sqlite', 'postgres'])('OrderService on %s', (engine) => {
  let scratch: ScratchStorage;
  let db: Kysely<OrderDatabase>;
  let server: TestServer;
  let client: orderV1.OrderServiceClient;
  let directory: FakeUserDirectory;
  const clock = { ms: Date.parse('2026-01-01T00:00:00Z'), step: 1 };
  const now = () => new Date((clock.ms += clock.step));

  const options = () => ({ orders: createKyselyOrderRepository(db, { engine }), users: directory, logger, now });

  async function start(): Promise<void> {
    db = await openDatabase<OrderDatabase>({
      serviceName: 'order',
      dataDir: scratch.dataDir,
      databaseUrl: scratch.databaseUrl,
      migrations: orderMigrations,
      logger,
    });
    server = await startTestServer([createOrderService(options())]);
    client = new orderV1.OrderServiceClient(server.address, credentials.createInsecure());
  }

  async function stop(): Promise<void> {
    client.close();
    server.stop();
    await db.destroy();
  }

  const createOrder = (request: Partial<orderV1.CreateOrderRequest>) =>
    callUnary(client.createOrder.bind(client), { userId: 'ada', items: [book], requestId: '', ...request });
  const getOrder = (id: string) => callUnary(client.getOrder.bind(client), { id });
  const listOrders = (userId: string, pageSize: number, pageToken = '') => callUnary(client.listOrders.bind(client), { userId, pageSize, pageToken });

  async function rowCounts(): Promise<{ orders: number; items: number }> {
    const count = async (table: 'orders' | 'order_items') =>
      Number(
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as('count'))
            .executeTakeFirstOrThrow()
        ).count,
      );
    return { orders: await count('orders'), items: await count('order_items') };
  }

  function contextWith(signal: AbortSignal): CallContext {
    return { method: '/switchyard.order.v1.OrderService/CreateOrder', metadata: new Metadata(), peer: 'test', peerIdentity: undefined, deadline: undefined, signal };
  }

  beforeEach(async () => {
    scratch = await createScratchStorage(engine, 'order_service');
    directory = new FakeUserDirectory();
    clock.step = 1;
    await start();
  });
  afterEach(async () => {
    // Guarded: when PostgreSQL is down, beforeEach failed before anything was started.
    if (db) await stop();
    await scratch?.dispose();
    db = undefined!;
    scratch = undefined!;
  });

  describe('CreateOrder', () => {
    it('stores the order with its items in order and a server-computed total; GetOrder returns it', async () => {
      const { order } = await createOrder({ items: [book, pen], requestId: 'r-1' });
      expect(order).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        userId: 'ada',
        items: [book, pen],
        totalCents: 2 * 1500 + 3 * 120,
        createTime: expect.any(Date),
        requestId: 'r-1',
      });
      expect(await getOrder(order!.id)).toEqual({ order });
      expect(await rowCounts()).toEqual({ orders: 1, items: 2 });
    });

    it.each<[string, Partial<orderV1.CreateOrderRequest>, string[]]>([
      ['a missing user_id', { userId: '' }, ['user_id']],
      ['no items', { items: [] }, ['items']],
      ['more than 100 items', { items: Array(101).fill(book) }, ['items']],
      ['an item without sku', { items: [book, { ...pen, sku: ' ' }] }, ['items[1].sku']],
      ['a zero quantity', { items: [{ ...book, quantity: 0 }] }, ['items[0].quantity']],
      ['a negative quantity', { items: [{ ...book, quantity: -2 }] }, ['items[0].quantity']],
      ['a negative unit price', { items: [{ ...book, unitPriceCents: -1 }] }, ['items[0].unit_price_cents']],
      ['a total past 2^53', { items: [{ ...book, quantity: 2_000_000_000, unitPriceCents: 2 ** 40 }] }, ['items']],
      ['a request_id over 128 characters', { requestId: 'r'.repeat(129) }, ['request_id']],
      ['several bad fields at once', { userId: '', items: [{ sku: '', quantity: 0, unitPriceCents: -5 }] }, ['user_id', 'items[0].sku', 'items[0].quantity', 'items[0].unit_price_cents']],
    ])('refuses %s with INVALID_ARGUMENT naming the fields, before asking for the user, and writes nothing', async (_case, request, fields) => {
      const error = await failureOf(createOrder(request));
      expect(error.code).toBe(Status.INVALID_ARGUMENT);
      for (const field of fields) expect(error.details).toContain(`${field}: `);
      expect(directory.calls).toBe(0);
      expect(await rowCounts()).toEqual({ orders: 0, items: 0 });
    });

    it('accepts 100 items, a free item and a 128-character request_id', async () => {
      const { order } = await createOrder({ items: [...Array(99).fill(book), { sku: 'gift', quantity: 1, unitPriceCents: 0 }], requestId: 'r'.repeat(128) });
      expect(order?.items).toHaveLength(100);
      expect(order?.totalCents).toBe(99 * 3000);
    });

    it('answers FAILED_PRECONDITION when the directory does not know the user, and writes nothing', async () => {
      const error = await failureOf(createOrder({ userId: 'ghost', requestId: 'r-ghost' }));
      expect(error.code).toBe(Status.FAILED_PRECONDITION);
      expect(error.details).toBe('user "ghost" does not exist');
      expect(await rowCounts()).toEqual({ orders: 0, items: 0 });
    });

    it('passes on a directory that cannot answer, and writes nothing', async () => {
      directory.failWith = statusError(Status.UNAVAILABLE, 'user service down');
      const error = await failureOf(createOrder({}));
      expect(error.code).toBe(Status.UNAVAILABLE);
      expect(await rowCounts()).toEqual({ orders: 0, items: 0 });
    });

    it('returns the first order for a retried create with the same request_id and payload, without a second write or user check', async () => {
      const first = (await createOrder({ items: [book, pen], requestId: 'r-same' })).order;
      const retry = (await createOrder({ items: [book, pen], requestId: 'r-same' })).order;
      expect(retry).toEqual(first);
      expect(directory.calls).toBe(1);
      expect(await rowCounts()).toEqual({ orders: 1, items: 2 });
    });

    it.each<[string, Partial<orderV1.CreateOrderRequest>]>([
      ['other items', { items: [pen] }],
      ['the items in another order', { items: [pen, book] }],
      ['another quantity', { items: [{ ...book, quantity: 3 }, pen] }],
      ['another unit price', { items: [book, { ...pen, unitPriceCents: 1 }] }],
    ])('refuses a request_id its user reuses with %s with FAILED_PRECONDITION naming the key, and writes nothing', async (_case, request) => {
      const first = (await createOrder({ items: [book, pen], requestId: 'r-reused' })).order;
      const error = await failureOf(createOrder({ ...request, requestId: 'r-reused' }));
      expect(error.code).toBe(Status.FAILED_PRECONDITION);
      expect(error.details).toBe('request_id "r-reused" was already used for a different order; send a new request_id');
      expect(error.details).not.toContain(first!.id);
      expect(await rowCounts()).toEqual({ orders: 1, items: 2 });
    });

    it("gives another user's create with the same request_id its own order, never the first user's", async () => {
      const adas = (await createOrder({ userId: 'ada', items: [book], requestId: 'r-shared' })).order;
      const bobs = (await createOrder({ userId: 'bob', items: [book], requestId: 'r-shared' })).order;
      expect(bobs).toMatchObject({ userId: 'bob', requestId: 'r-shared' });
      expect(bobs?.id).not.toBe(adas?.id);
      expect((await createOrder({ userId: 'bob', items: [book], requestId: 'r-shared' })).order).toEqual(bobs);
      expect(await rowCounts()).toEqual({ orders: 2, items: 2 });
    });

    it('creates exactly one order for 20 concurrent creates with the same request_id', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () => createOrder({ items: [book, pen], requestId: 'r-race' })));
      const ids = new Set(results.map((result) => result.order?.id));
      expect(ids.size).toBe(1);
      expect(results.every((result) => result.order?.totalCents === 3360)).toBe(true);
      expect(await rowCounts()).toEqual({ orders: 1, items: 2 });
    });

    it('returns the winner of a lost unique-index race instead of writing a second order', async () => {
      const repository = createKyselyOrderRepository(db, { engine });
      const winner = (await createOrder({ items: [pen], requestId: 'r-lost' })).order;
      // The loser looked the request id up before the winner committed: its first lookup sees nothing.
      let lookups = 0;
      const staleFirstRead = {
        ...repository,
        findByRequestId: async (userId: string, requestId: string) => (lookups++ === 0 ? undefined : repository.findByRequestId(userId, requestId)),
      };
      const loser = orderServiceHandlers({ orders: staleFirstRead, users: directory, logger, now });
      const response = await loser.createOrder({ userId: 'ada', items: [pen], requestId: 'r-lost' }, contextWith(new AbortController().signal));
      expect(response.order).toEqual(winner);
      expect(lookups).toBe(2);
      expect(await rowCounts()).toEqual({ orders: 1, items: 1 });
    });

    it('refuses the loser of a unique-index race that sent other items with FAILED_PRECONDITION, and writes nothing', async () => {
      const repository = createKyselyOrderRepository(db, { engine });
      await createOrder({ items: [pen], requestId: 'r-lost-other' });
      let lookups = 0;
      const staleFirstRead = {
        ...repository,
        findByRequestId: async (userId: string, requestId: string) => (lookups++ === 0 ? undefined : repository.findByRequestId(userId, requestId)),
      };
      const loser = orderServiceHandlers({ orders: staleFirstRead, users: directory, logger, now });
      await expect(loser.createOrder({ userId: 'ada', items: [book], requestId: 'r-lost-other' }, contextWith(new AbortController().signal))).rejects.toThrow(
        'request_id "r-lost-other" was already used for a different order',
      );
      expect(await rowCounts()).toEqual({ orders: 1, items: 1 });
    });

    it('creates a new order each time when no request_id is given', async () => {
      const a = (await createOrder({})).order;
      const b = (await createOrder({})).order;
      expect(a?.id).not.toBe(b?.id);
      expect(a?.requestId).toBe('');
      expect(await rowCounts()).toEqual({ orders: 2, items: 2 });
    });

    it('starts no write when the caller has already gone', async () => {
      const controller = new AbortController();
      controller.abort(new Error('client cancelled'));
      const request: orderV1.CreateOrderRequest = { userId: 'ada', items: [book], requestId: 'r-gone' };
      await expect(orderServiceHandlers(options()).createOrder(request, contextWith(controller.signal))).rejects.toThrow('client cancelled');
      expect(await rowCounts()).toEqual({ orders: 0, items: 0 });
    });

    it('starts no write when the caller gives up while the user is being checked', async () => {
      const controller = new AbortController();
      // A directory that ignores the signal: the handler itself must still not write.
      directory.duringCheck = () => controller.abort(new Error('deadline exceeded'));
      directory.assertUserExists = async () => {
        directory.duringCheck?.();
      };
      const request: orderV1.CreateOrderRequest = { userId: 'ada', items: [book], requestId: 'r-late' };
      await expect(orderServiceHandlers(options()).createOrder(request, contextWith(controller.signal))).rejects.toThrow('deadline exceeded');
      expect(await rowCounts()).toEqual({ orders: 0, items: 0 });
    });
  });

  describe('GetOrder', () => {
    it('answers NOT_FOUND naming the id, and INVALID_ARGUMENT for an empty id', async () => {
      const missing = await failureOf(getOrder('no-such-order'));
      expect(missing.code).toBe(Status.NOT_FOUND);
      expect(missing.details).toContain('"no-such-order"');
      const empty = await failureOf(getOrder(''));
      expect(empty.code).toBe(Status.INVALID_ARGUMENT);
      expect(empty.details).toContain('id: ');
    });
  });

  describe('ListOrders', () => {
    it("walks one user's orders exactly once, oldest first, skipping other users' and surviving inserts while paging", async () => {
      const adas: string[] = [];
      for (let n = 0; n < 12; n += 1) {
        adas.push((await createOrder({ userId: 'ada', requestId: `ada-${n}` })).order!.id);
        await createOrder({ userId: 'bob', requestId: `bob-${n}` });
      }
      const seen: orderV1.Order[] = [];
      let token = '';
      let pages = 0;
      do {
        const page = await listOrders('ada', 5, token);
        seen.push(...page.orders);
        token = page.nextPageToken;
        pages += 1;
        if (pages === 1) adas.push((await createOrder({ userId: 'ada', requestId: 'ada-late' })).order!.id);
      } while (token !== '');
      expect(seen.map((order) => order.id)).toEqual(adas);
      expect(seen.every((order) => order.userId === 'ada' && order.items.length === 1)).toBe(true);
      expect(pages).toBe(3);
    });

    it('walks orders created in the same millisecond exactly once', async () => {
      clock.step = 0;
      const ids: string[] = [];
      for (let n = 0; n < 9; n += 1) ids.push((await createOrder({})).order!.id);
      const seen: string[] = [];
      let token = '';
      do {
        const page = await listOrders('ada', 4, token);
        seen.push(...page.orders.map((order) => order.id));
        token = page.nextPageToken;
      } while (token !== '');
      expect(seen).toEqual([...ids].sort());
    });

    it('serves 20 for page_size 0 and returns an empty page for a user without orders', async () => {
      for (let n = 0; n < 21; n += 1) await createOrder({});
      expect((await listOrders('ada', 0)).orders).toHaveLength(20);
      expect(await listOrders('nobody', 10)).toEqual({ orders: [], nextPageToken: '' });
    });

    it('refuses a missing user_id, a negative page_size and a garbled page_token with INVALID_ARGUMENT', async () => {
      for (const [call, field] of [
        [listOrders('', 10), 'user_id'],
        [listOrders('ada', -1), 'page_size'],
        [listOrders('ada', 10, 'garbage!'), 'page_token'],
      ] as const) {
        const error = await failureOf(call);
        expect(error.code).toBe(Status.INVALID_ARGUMENT);
        expect(error.details).toContain(`${field}: `);
      }
    });
  });

  describe('hostile input', () => {
    it.each<[string, () => Promise<unknown>, string]>([
      ['NUL in CreateOrder.user_id', () => createOrder({ userId: 'ada\u0000' }), 'user_id'],
      ['an escape sequence in a sku', () => createOrder({ items: [book, { ...pen, sku: 'pen\u001b[2J' }] }), 'items[1].sku'],
      ['a sku over 100 characters', () => createOrder({ items: [{ ...book, sku: 's'.repeat(101) }] }), 'items[0].sku'],
      ['NUL in request_id', () => createOrder({ requestId: 'r\u0000' }), 'request_id'],
      ['a unit price of 2^53, which a number cannot hold', () => createOrder({ items: [{ ...book, unitPriceCents: 2 ** 53 }] }), 'items[0].unit_price_cents'],
      ['NUL in GetOrder.id', () => getOrder('o\u0000'), 'id'],
      ['an id of 100,000 characters', () => getOrder('o'.repeat(100_000)), 'id'],
      ['NUL in ListOrders.user_id', () => listOrders('ada\u0000', 10), 'user_id'],
      ['a page token whose id holds NUL', () => listOrders('ada', 10, encodePageToken({ createTimeMs: 1, id: '\u0000' })), 'page_token'],
      ['a page token of 100,000 characters', () => listOrders('ada', 10, encodePageToken({ createTimeMs: 1, id: 'x'.repeat(100_000) })), 'page_token'],
    ])('refuses %s with INVALID_ARGUMENT naming the field, without echoing it, and writes nothing', async (_case, call, field) => {
      const error = await failureOf(call());
      expect({ code: error.code, fields: badRequestFields(error) }).toEqual({ code: Status.INVALID_ARGUMENT, fields: [field] });
      expect(error.details.length).toBeLessThan(200);
      expect(directory.calls).toBe(0);
      expect(await rowCounts()).toEqual({ orders: 0, items: 0 });
    });
  });

  it('keeps orders and request_id idempotency across a restart', async () => {
    const { order } = await createOrder({ items: [book, pen], requestId: 'r-restart' });
    await stop();
    await start();
    expect(await getOrder(order!.id)).toEqual({ order });
    expect((await createOrder({ items: [book, pen], requestId: 'r-restart' })).order).toEqual(order);
    expect(await rowCounts()).toEqual({ orders: 1, items: 2 });
  });

  it('keeps the retry path for orders stored before request ids were scoped to users, and refuses their keys for other payloads', async () => {
    await stop();
    await scratch.dispose();
    scratch = await createScratchStorage(engine, 'order_upgrade');
    const before = await openDatabase<OrderDatabase>({
      serviceName: 'order',
      dataDir: scratch.dataDir,
      databaseUrl: scratch.databaseUrl,
      migrations: { '0001_create_orders': orderMigrations['0001_create_orders']! },
      logger,
    });
    await before.insertInto('orders').values({ id: 'o-old', user_id: 'ada', total_cents: 3360, request_id: 'r-old', create_time: Date.parse('2025-12-01T00:00:00Z') }).execute();
    await before
      .insertInto('order_items')
      .values([
        { order_id: 'o-old', position: 0, sku: book.sku, quantity: book.quantity, unit_price_cents: book.unitPriceCents },
        { order_id: 'o-old', position: 1, sku: pen.sku, quantity: pen.quantity, unit_price_cents: pen.unitPriceCents },
      ])
      .execute();
    await before.destroy();
    await start();

    expect((await createOrder({ items: [book, pen], requestId: 'r-old' })).order).toMatchObject({ id: 'o-old', userId: 'ada' });
    expect((await failureOf(createOrder({ items: [book], requestId: 'r-old' }))).code).toBe(Status.FAILED_PRECONDITION);
    expect((await createOrder({ userId: 'bob', items: [book, pen], requestId: 'r-old' })).order).toMatchObject({ userId: 'bob' });
    expect(await rowCounts()).toEqual({ orders: 2, items: 4 });
  });

  it('writes an order and its items in one transaction: a failing item leaves no order behind', async () => {
    const orders = createKyselyOrderRepository(db, { engine });
    const broken = {
      id: 'o-broken',
      userId: 'ada',
      // the schema's CHECK refuses the second item after the order row is written
      items: [book, { sku: 'bad', quantity: -1, unitPriceCents: 1 }],
      totalCents: 0,
      requestId: 'r-broken',
      createTime: new Date(),
    };
    await expect(orders.insert(broken)).rejects.toThrow();
    expect(await rowCounts()).toEqual({ orders: 0, items: 0 });
    expect(await orders.findByRequestId('ada', 'r-broken')).toBeUndefined();
  });
});
