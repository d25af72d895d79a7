import type { KeysetCursor, Page } from '@switchyard/storage';

export interface OrderItemRecord {
  sku: string;
  quantity: number;
  unitPriceCents: number;
}

/** A stored order with its items, in the order the client sent them. */
export interface OrderRecord {
  id: string;
  userId: string;
  items: OrderItemRecord[];
  totalCents: number;
  /** undefined when the client sent no request_id. */
  requestId: string | undefined;
  /** requestFingerprint() of the request that created it; undefined for orders stored before fingerprints. */
  requestFingerprint?: string;
  createTime: Date;
}

/** What `insert` did: wrote the order, or found its user's request id taken by another order. */
export type InsertOrderOutcome = { inserted: true } | { inserted: false; reason: 'request-id-taken' };

/** Where orders are kept. */
export interface OrderRepository {
  /** Writes the order and its items in one transaction: all of it or nothing. */
  insert(order: OrderRecord): Promise<InsertOrderOutcome>;
  findById(id: string): Promise<OrderRecord | undefined>;
  /** The order `userId` created with idempotency key `requestId`: keys are scoped to their user. */
  findByRequestId(userId: string, requestId: string): Promise<OrderRecord | undefined>;
  /** One user's orders oldest first, after `cursor` (the start when undefined). */
  listByUser(userId: string, pageSize: number, cursor: KeysetCursor | undefined): Promise<Page<OrderRecord>>;
}
