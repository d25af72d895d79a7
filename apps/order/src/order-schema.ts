import type { OutboxTable } from '@switchyard/storage';

/** The order service's tables, as its migrations create them (see order-migrations.ts). */
export interface OrderDatabase {
  orders: OrderRow;
  order_items: OrderItemRow;
  outbox: OutboxTable;
}

export interface OrderRow {
  id: string;
  user_id: string;
  total_cents: number;
  /** The client's idempotency key; null when it sent none. Unique per user_id. */
  request_id: string | null;
  /** Hash of the request that created the order (request-fingerprint.ts); null before migration 0002. */
  request_fingerprint: string | null;
  /** ms since the epoch. */
  create_time: number;
}

export interface OrderItemRow {
  order_id: string;
  /** Index of the item in the order as the client sent it. */
  position: number;
  sku: string;
  quantity: number;
  unit_price_cents: number;
}
