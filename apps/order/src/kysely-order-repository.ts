import type { Kysely } from 'kysely';
import { isUniqueViolation, prepareQuery, toKeysetPage, type KeysetCursor, type Page, type QueryParameters } from '@switchyard/storage';
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

function toItem(row: OrderItemRow): OrderItemRecord {
  return { sku: row.sku, quantity: row.quantity, unitPriceCents: row.unit_price_cents };
}

/** OrderRepository over the service's SQL database (SQLite or PostgreSQL). */
export function createKyselyOrderRepository(db: Kysely<OrderDatabase>): OrderRepository {
  // The queries whose shape never changes, compiled once: building and compiling a query cost
  // about as much as running it on SQLite.
  const orders = () => db.selectFrom('orders').selectAll();
  const byId = prepareQuery(db, (param: QueryParameters<{ id: string }>) => orders().where('id', '=', param('id')));
  const byRequestId = prepareQuery(db, (param: QueryParameters<{ userId: string; requestId: string }>) =>
    orders().where('user_id', '=', param('userId')).where('request_id', '=', param('requestId')),
  );
  const firstPage = prepareQuery(db, (param: QueryParameters<{ userId: string; limit: number }>) =>
    orders().where('user_id', '=', param('userId')).orderBy('create_time').orderBy('id').limit(param('limit')),
  );
  const pageAfter = prepareQuery(db, (param: QueryParameters<{ userId: string; createTimeMs: number; id: string; limit: number }>) =>
    orders()
      .where('user_id', '=', param('userId'))
      .where((eb) => eb(eb.refTuple('create_time', 'id'), '>', eb.tuple(param('createTimeMs'), param('id'))))
      .orderBy('create_time')
      .orderBy('id')
      .limit(param('limit')),
  );

  // Loads the items of `orders` with one query and attaches them in position order.
  async function withItems(orders: OrderRow[]): Promise<OrderRecord[]> {
    if (orders.length === 0) return [];
    const itemRows = await db
      .selectFrom('order_items')
      .selectAll()
      .where(
        'order_id',
        'in',
        orders.map((order) => order.id),
      )
      .orderBy('order_id')
      .orderBy('position')
      .execute();
    const itemsByOrder = new Map<string, OrderItemRecord[]>();
    for (const row of itemRows) {
      const items = itemsByOrder.get(row.order_id) ?? [];
      items.push(toItem(row));
      itemsByOrder.set(row.order_id, items);
    }
    return orders.map((order) => toRecord(order, itemsByOrder.get(order.id) ?? []));
  }

  async function withItemsOf(row: OrderRow | undefined): Promise<OrderRecord | undefined> {
    if (!row) return undefined;
    const [order] = await withItems([row]);
    return order;
  }

  return {
    async insert(order) {
      try {
        await db.transaction().execute(async (trx) => {
          await trx
            .insertInto('orders')
            .values({
              id: order.id,
              user_id: order.userId,
              total_cents: order.totalCents,
              request_id: order.requestId ?? null,
              request_fingerprint: order.requestFingerprint ?? null,
              create_time: order.createTime.getTime(),
            })
            .execute();
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
        });
      } catch (error) {
        // With a request id, the unique index on (user_id, request_id) settles a race between two creates.
        if (order.requestId !== undefined && isUniqueViolation(error)) return { inserted: false, reason: 'request-id-taken' };
        throw error;
      }
      return { inserted: true };
    },

    findById: async (id) => withItemsOf(await byId.executeTakeFirst({ id })),

    findByRequestId: async (userId, requestId) => withItemsOf(await byRequestId.executeTakeFirst({ userId, requestId })),

    async listByUser(userId: string, pageSize: number, cursor: KeysetCursor | undefined): Promise<Page<OrderRecord>> {
      // One row past the page says whether another page follows.
      const limit = pageSize + 1;
      const rows = cursor
        ? await pageAfter.execute({ userId, createTimeMs: cursor.createTimeMs, id: cursor.id, limit })
        : await firstPage.execute({ userId, limit });
      const page = toKeysetPage(rows, pageSize, (row) => ({ createTimeMs: row.create_time, id: row.id }));
      return { items: await withItems(page.items), nextPageToken: page.nextPageToken };
    },
  };
}
