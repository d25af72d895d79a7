import { sql, type Kysely } from 'kysely';
import { createOutboxTable, type Migrations } from '@switchyard/storage';

/** The order service's schema, oldest first. Never edit an applied migration; add a new one. */
export const orderMigrations: Migrations = {
  '0001_create_orders': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('orders')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('user_id', 'text', (column) => column.notNull())
        .addColumn('total_cents', 'bigint', (column) => column.notNull())
        .addColumn('request_id', 'text')
        .addColumn('create_time', 'bigint', (column) => column.notNull())
        .execute();
      // Both engines let many rows hold NULL under a unique index, so only real request ids collide.
      await db.schema.createIndex('orders_request_id_key').unique().on('orders').column('request_id').execute();
      // ListOrders walks one user's orders in (create_time, id) order.
      await db.schema.createIndex('orders_user_id_create_time_id_idx').on('orders').columns(['user_id', 'create_time', 'id']).execute();

      await db.schema
        .createTable('order_items')
        .addColumn('order_id', 'text', (column) => column.notNull().references('orders.id').onDelete('cascade'))
        .addColumn('position', 'integer', (column) => column.notNull())
        .addColumn('sku', 'text', (column) => column.notNull())
        .addColumn('quantity', 'integer', (column) => column.notNull().check(sql`quantity > 0`))
        .addColumn('unit_price_cents', 'bigint', (column) => column.notNull().check(sql`unit_price_cents >= 0`))
        .addPrimaryKeyConstraint('order_items_pkey', ['order_id', 'position'])
        .execute();
    },
  },
  '0002_scope_request_id_to_user': {
    async up(db: Kysely<unknown>) {
      // A request id is the client's key for one of its own creates: another user sending the same
      // key is another request, never a way to read someone's order.
      await db.schema.dropIndex('orders_request_id_key').execute();
      await db.schema.createIndex('orders_user_id_request_id_key').unique().on('orders').columns(['user_id', 'request_id']).execute();
      // What the key was used for, so a reuse with another payload is refused rather than answered
      // with the first order. Orders from before have none; their fingerprint is computed from the row.
      await db.schema.alterTable('orders').addColumn('request_fingerprint', 'text').execute();
    },
  },
  '0003_create_outbox': {
    async up(db: Kysely<unknown>) {
      // Events committed with the orders they announce; the relay publishes them (EVENTS_URL).
      await createOutboxTable(db);
    },
  },
};
