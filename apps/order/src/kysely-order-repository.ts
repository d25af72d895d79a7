import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import {
  insertOutboxColumns,
  isUniqueViolation,
  prepareQuery,
  toKeysetPage,
  toOutboxColumns,
  writeOutboxEvents,
  type KeysetCursor,
  type OutboxColumns,
  type OutboxEvent,
  type Page,
  type QueryParameters,
  type StorageEngine,
} from '@switchyard/storage';
import type { OrderItemRecord, OrderRecord, OrderRepository } from './order-repository';
import type { OrderDatabase, OrderItemRow, OrderRow } from './order-schema';

function toRecord(row: OrderRow, items: OrderItemRecord[]): OrderRecord {
  return {
    id: row.id,
    userId: row.user_id,
    items,
    totalCents: row.total_cents,
    requestId: row.request_id ?? undefined,
    requestFingerprint: row.request_fingerprint ?? undefined,
    createTime: new Date(row.create_time),
  };
}

/** An order's row with one of its items (a left join: no item columns for an order without items). */
type OrderWithItemRow = OrderRow & { [K in keyof Omit<OrderItemRow, 'order_id'>]: OrderItemRow[K] | null };

/** Rows of orders joined with their items, ordered by order then position, as records. */
function toRecords(rows: OrderWithItemRow[]): OrderRecord[] {
  const records: OrderRecord[] = [];
  let current: OrderRecord | undefined;
  for (const row of rows) {
    if (current?.id !== row.id) records.push((current = toRecord(row, [])));
    // An item's columns are all null only when the order has no item.
    if (row.position !== null) current.items.push({ sku: row.sku!, quantity: row.quantity!, unitPriceCents: row.unit_price_cents! });
  }
  return records;
}

function toRow(order: OrderRecord): OrderRow {
  return {
    id: order.id,
    user_id: order.userId,
    total_cents: order.totalCents,
    request_id: order.requestId ?? null,
    request_fingerprint: order.requestFingerprint ?? null,
    create_time: order.createTime.getTime(),
  };
}

/**
 * The values of the one-statement insert on PostgreSQL: the order's row, its items and its events
 * as arrays. The row's fields are mapped, because prepareQuery takes a record and an interface is none.
 */
type InsertParameters = { [K in keyof OrderRow]: OrderRow[K] } & {
  skus: string[];
  quantities: number[];
  unitPricesCents: number[];
  eventIds: OutboxColumns['ids'];
  eventSubjects: OutboxColumns['subjects'];
  eventPayloads: OutboxColumns['payloads'];
  eventHeaders: OutboxColumns['headers'];
  eventCreateTimes: OutboxColumns['createTimes'];
};

export interface OrderEventOptions {
  /** The events announcing a new order, written to the outbox in the order's own transaction. */
  eventsFor(order: OrderRecord): OutboxEvent[];
  /** Told after each commit that wrote events (the relay's wake-up). */
  onEventsCommitted?(): void;
}

export interface OrderRepositoryOptions {
  /** The database's engine: given it, the repository may use statements only that engine runs. */
  engine?: StorageEngine;
  events?: OrderEventOptions;
}

/**
 * OrderRepository over the service's SQL database (SQLite or PostgreSQL). With `events`, every new
 * order's events go to the outbox in the same transaction: both are written, or neither.
 */

export function createKyselyOrderRepository(db: Kysely<OrderDatabase>, { engine, events }: OrderRepositoryOptions = {}): OrderRepository {
  // Every read is one statement, orders joined with their items, built and compiled to SQL once:
  // building and compiling a query costs about as much as running it on SQLite, and a second
  // statement for the items would be a second round trip to PostgreSQL.
  type OrdersQuery = SelectQueryBuilder<OrderDatabase, 'orders', OrderRow>;
  const withItems = (orders: OrdersQuery) =>
    db
      .selectFrom(orders.as('o'))
      .leftJoin('order_items as i', 'i.order_id', 'o.id')
      .selectAll('o')
      .select(['i.position', 'i.sku', 'i.quantity', 'i.unit_price_cents'])
      .orderBy('o.create_time')
      .orderBy('o.id')
      .orderBy('i.position');
  const orders = () => db.selectFrom('orders').selectAll();
  const byId = prepareQuery(db, (param: QueryParameters<{ id: string }>) => withItems(orders().where('id', '=', param('id'))));
  const byRequestId = prepareQuery(db, (param: QueryParameters<{ userId: string; requestId: string }>) =>
    withItems(orders().where('user_id', '=', param('userId')).where('request_id', '=', param('requestId'))),
  );
  const firstPage = prepareQuery(db, (param: QueryParameters<{ userId: string; limit: number }>) =>
    withItems(orders().where('user_id', '=', param('userId')).orderBy('create_time').orderBy('id').limit(param('limit'))),
  );
  const pageAfter = prepareQuery(db, (param: QueryParameters<{ userId: string; createTimeMs: number; id: string; limit: number }>) =>
    withItems(
      orders()
        .where('user_id', '=', param('userId'))
        .where((eb) => eb(eb.refTuple('create_time', 'id'), '>', eb.tuple(param('createTimeMs'), param('id'))))
        .orderBy('create_time')
        .orderBy('id')
        .limit(param('limit')),
    ),
  );

  // On PostgreSQL a new order is one statement: the order, its items and its events in
  // data-modifying CTEs, so one round trip instead of a transaction's five (BEGIN, three inserts,
  // COMMIT). A statement commits or fails as a whole, as the transaction does.
  const insertInOneStatement =
    engine === 'postgres' &&
    prepareQuery(db, (param: QueryParameters<InsertParameters>) => sql<unknown>`
      with new_order as (
        insert into orders (id, user_id, total_cents, request_id, request_fingerprint, create_time)
        values (${param('id')}, ${param('user_id')}, cast(${param('total_cents')} as bigint), ${param('request_id')}, ${param('request_fingerprint')}, cast(${param('create_time')} as bigint))
      ), new_items as (
        insert into order_items (order_id, position, sku, quantity, unit_price_cents)
        select ${param('id')}, item.position - 1, item.sku, item.quantity, item.unit_price_cents
        from unnest(cast(${param('skus')} as text[]), cast(${param('quantities')} as integer[]), cast(${param('unitPricesCents')} as bigint[]))
          with ordinality as item(sku, quantity, unit_price_cents, position)
      ), new_events as (
        ${insertOutboxColumns({ ids: param('eventIds'), subjects: param('eventSubjects'), payloads: param('eventPayloads'), headers: param('eventHeaders'), createTimes: param('eventCreateTimes') })}
      )
      select 1 as inserted`);

  const insertInTransaction = (order: OrderRecord, outboxEvents: OutboxEvent[]) =>
    db.transaction().execute(async (trx) => {
      await trx.insertInto('orders').values(toRow(order)).execute();
      await trx
        .insertInto('order_items')
        .values(
          order.items.map((item, position) => ({
            order_id: order.id,
            position,
            sku: item.sku,
            quantity: item.quantity,
            unit_price_cents: item.unitPriceCents,
          })),
        )
        .execute();
      await writeOutboxEvents(trx, outboxEvents);
    });

  return {
    async insert(order) {
      // Built before the write, in the caller's context: the events carry its trace.
      const outboxEvents = events?.eventsFor(order) ?? [];
      try {
        if (!insertInOneStatement) await insertInTransaction(order, outboxEvents);
        else {
          const columns = toOutboxColumns(outboxEvents);
          await insertInOneStatement.execute({
            ...toRow(order),
            skus: order.items.map((item) => item.sku),
            quantities: order.items.map((item) => item.quantity),
            unitPricesCents: order.items.map((item) => item.unitPriceCents),
            eventIds: columns.ids,
            eventSubjects: columns.subjects,
            eventPayloads: columns.payloads,
            eventHeaders: columns.headers,
            eventCreateTimes: columns.createTimes,
          });
        }
      } catch (error) {
        // With a request id, the unique index on (user_id, request_id) settles a race between two creates.
        if (order.requestId !== undefined && isUniqueViolation(error)) return { inserted: false, reason: 'request-id-taken' };
        throw error;
      }
      if (outboxEvents.length > 0) events?.onEventsCommitted?.();
      return { inserted: true };
    },

    findById: async (id) => toRecords(await byId.execute({ id }))[0],

    findByRequestId: async (userId, requestId) => toRecords(await byRequestId.execute({ userId, requestId }))[0],

    async listByUser(userId: string, pageSize: number, cursor: KeysetCursor | undefined): Promise<Page<OrderRecord>> {
      // One row past the page says whether another page follows.
      const limit = pageSize + 1;
      const rows = cursor
        ? await pageAfter.execute({ userId, createTimeMs: cursor.createTimeMs, id: cursor.id, limit })
        : await firstPage.execute({ userId, limit });
      return toKeysetPage(toRecords(rows), pageSize, (order) => ({ createTimeMs: order.createTime.getTime(), id: order.id }));
    },
  };
}
