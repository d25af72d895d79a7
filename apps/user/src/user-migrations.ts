import type { Kysely } from 'kysely';
import { createInboxTable, type Migrations } from '@switchyard/storage';

/** The user service's schema, oldest first. Never edit an applied migration; add a new one. */
export const userMigrations: Migrations = {
  '0001_create_users': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('name', 'text', (column) => column.notNull())
        .addColumn('email', 'text', (column) => column.notNull())
        .addColumn('create_time', 'bigint', (column) => column.notNull())
        .execute();
      // Uniqueness lives in the index, so two racing creates cannot both succeed.
      await db.schema.createIndex('users_email_key').unique().on('users').column('email').execute();
      // ListUsers walks users in (create_time, id) order.
      await db.schema.createIndex('users_create_time_id_idx').on('users').columns(['create_time', 'id']).execute();
    },
  },
  '0002_order_totals_from_events': {
    async up(db: Kysely<unknown>) {
      // Kept from order's OrderCreated events; the inbox makes each event count once.
      await db.schema.alterTable('users').addColumn('order_count', 'bigint', (column) => column.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('users').addColumn('total_spent_cents', 'bigint', (column) => column.notNull().defaultTo(0)).execute();
      await createInboxTable(db);
    },
  },
};
