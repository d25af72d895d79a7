import type { Kysely } from 'kysely';
import { isUniqueViolation, toKeysetPage, type KeysetCursor, type Page } from '@switchyard/storage';
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

    findById: async (id) => withItemsOf(await db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst()),

    findByRequestId: async (userId, requestId) =>
      withItemsOf(await db.selectFrom('orders').selectAll().where('user_id', '=', userId).where('request_id', '=', requestId).executeTakeFirst()),

    async listByUser(userId: string, pageSize: number, cursor: KeysetCursor | undefined): Promise<Page<OrderRecord>> {
      let query = db.selectFrom('orders').selectAll().where('user_id', '=', userId);
      if (cursor) {
        query = query.where((eb) => eb(eb.refTuple('create_time', 'id'), '>', eb.tuple(cursor.createTimeMs, cursor.id)));
      }
      const rows = await query.orderBy('create_time').orderBy('id').limit(pageSize + 1).execute();
      const page = toKeysetPage(rows, pageSize, (row) => ({ createTimeMs: row.create_time, id: row.id }));
      return { items: await withItems(page.items), nextPageToken: page.nextPageToken };
    },
  };
}
