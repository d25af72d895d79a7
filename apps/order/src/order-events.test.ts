import { credentials } from '@grpc/grpc-js';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { ORDER_CREATED_SUBJECT, orderEventsV1, orderV1 } from '@switchyard/proto';
import { callUnary, NotFoundError } from '@switchyard/runtime';
import { installInMemoryTracing } from '@switchyard/runtime/testing';
import { createOutboxStore, openDatabase, type StorageEngine } from '@switchyard/storage';
import { createScratchStorage, type ScratchStorage } from '@switchyard/storage/testing';
import { startTestServer, type TestServer } from '@switchyard/testing';
import type { Kysely } from 'kysely';
import pino from 'pino';
import { createKyselyOrderRepository } from './kysely-order-repository';
import { orderCreatedEvent } from './order-events';
import { orderMigrations } from './order-migrations';
import type { OrderDatabase } from './order-schema';
import { createOrderService } from './order-service';

const logger = pino({ level: 'silent' });
const users = {
  async assertUserExists(userId: string) {
    if (userId !== 'ada') throw new NotFoundError('user', userId);
  },
};

describe.each<StorageEngine>(['sqlite', 'postgres'])('OrderCreated events in the outbox on %s', (engine) => {
  let scratch: ScratchStorage;
  let db: Kysely<OrderDatabase>;
  let servers: TestServer[];
  let tracing: ReturnType<typeof installInMemoryTracing>;
  let wakes: number;

  beforeAll(() => {
    tracing = installInMemoryTracing();
  });
  afterAll(() => tracing.uninstall());

  beforeEach(async () => {
    scratch = await createScratchStorage(engine, 'order_events');
    db = await openDatabase<OrderDatabase>({ serviceName: 'order', dataDir: scratch.dataDir, databaseUrl: scratch.databaseUrl, migrations: orderMigrations, logger });
    servers = [];
    wakes = 0;
  });
  afterEach(async () => {
    for (const server of servers) server.stop();
    await db?.destroy();
    await scratch?.dispose();
  });

  async function orderClient(eventsOn: boolean) {
    const orders = createKyselyOrderRepository(db, { engine, events: eventsOn ? { eventsFor: (order) => [orderCreatedEvent(order)], onEventsCommitted: () => wakes++ } : undefined });
    const server = await startTestServer([createOrderService({ orders, users, logger })]);
    servers.push(server);
    const client = new orderV1.OrderServiceClient(server.address, credentials.createInsecure());
    return (request: Partial<orderV1.CreateOrderRequest>) => callUnary(client.createOrder.bind(client), orderV1.CreateOrderRequest.fromPartial(request));
  }

  const outboxRows = () => db.selectFrom('outbox').selectAll().orderBy('create_time').execute();

  it('writes one OrderCreated per new order, describing the order, and none for a retried create', async () => {
    const createOrder = await orderClient(true);
    const { order } = await createOrder({ userId: 'ada', items: [{ sku: 'book', quantity: 2, unitPriceCents: 1500 }, { sku: 'pen', quantity: 1, unitPriceCents: 120 }], requestId: 'r-1' });
    // A retry of the same create returns the first order and announces nothing new.
    await createOrder({ userId: 'ada', items: [{ sku: 'book', quantity: 2, unitPriceCents: 1500 }, { sku: 'pen', quantity: 1, unitPriceCents: 120 }], requestId: 'r-1' });
    const rows = await outboxRows();
    expect(rows).toHaveLength(1);
    expect(wakes).toBe(1);
    const [row] = rows;
    expect(row!.subject).toBe(ORDER_CREATED_SUBJECT);
    expect(row!.sent_time).toBeNull();
    const event = orderEventsV1.OrderCreated.decode(Buffer.from(row!.payload, 'base64'));
    expect(event).toEqual({ eventId: row!.id, orderId: order!.id, userId: 'ada', totalCents: 3120, itemCount: 2, createTime: order!.createTime });
  });

  it('keeps the trace context of the code that created the order with its event', async () => {
    const orders = createKyselyOrderRepository(db, { engine, events: { eventsFor: (order) => [orderCreatedEvent(order)] } });
    const span = trace.getTracer('test').startSpan('CreateOrder');
    const order = { id: 'o-1', userId: 'ada', items: [{ sku: 'book', quantity: 1, unitPriceCents: 5 }], totalCents: 5, requestId: undefined, createTime: new Date() };
    await context.with(trace.setSpan(ROOT_CONTEXT, span), () => orders.insert(order));
    span.end();
    const [row] = await outboxRows();
    expect(JSON.parse(row!.headers)).toEqual({ traceparent: `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01` });
  });

  it('writes no event for an order that was not created, and none at all with events off', async () => {
    const createOrder = await orderClient(true);
    await expect(createOrder({ userId: 'nobody', items: [{ sku: 'book', quantity: 1, unitPriceCents: 1 }] })).rejects.toMatchObject({ details: expect.stringContaining('nobody') });
    await expect(createOrder({ userId: 'ada', items: [] })).rejects.toBeDefined();
    expect(await outboxRows()).toEqual([]);

    const withoutEvents = await orderClient(false);
    await withoutEvents({ userId: 'ada', items: [{ sku: 'book', quantity: 1, unitPriceCents: 1 }] });
    expect(await outboxRows()).toEqual([]);
    expect(await db.selectFrom('orders').select('id').execute()).toHaveLength(1);
  });

  it('writes the order and its event together or not at all', async () => {
    // Every event gets the same id, so the second order's outbox write fails its transaction.
    const orders = createKyselyOrderRepository(db, { engine, events: { eventsFor: (order) => [orderCreatedEvent(order, () => 'same-event-id')] } });
    const order = { id: 'o-1', userId: 'ada', items: [{ sku: 'book', quantity: 1, unitPriceCents: 5 }], totalCents: 5, requestId: undefined, createTime: new Date() };
    expect(await orders.insert(order)).toEqual({ inserted: true });
    await expect(orders.insert({ ...order, id: 'o-2' })).rejects.toThrow();
    expect(await db.selectFrom('orders').select('id').execute()).toEqual([{ id: 'o-1' }]);
    expect(await db.selectFrom('order_items').select('order_id').execute()).toEqual([{ order_id: 'o-1' }]);
    expect((await outboxRows()).map((row) => orderEventsV1.OrderCreated.decode(Buffer.from(row.payload, 'base64')).orderId)).toEqual(['o-1']);
    expect(await createOutboxStore(db, engine).countUnsent()).toBe(1);
  });
});
