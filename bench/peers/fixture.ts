import { fixtureUserIds } from '../src/user-fixture';

// The data every peer serves from memory: the unary scenario's 1,000 fixture users (same ids,
// names and e-mails) and, as the fanout scenario seeds them, 3 orders per user.

export interface FixtureUser {
  id: string;
  name: string;
  email: string;
  createTime: Date;
  orderCount: number;
  totalSpentCents: number;
}

export interface FixtureOrder {
  id: string;
  userId: string;
  items: Array<{ sku: string; quantity: number; unitPriceCents: number }>;
  totalCents: number;
  createTime: Date;
  requestId: string;
}

export const ORDERS_PER_USER = 3;

export function fixtureUsers(): FixtureUser[] {
  const createTime = new Date('2024-01-01T00:00:00Z');
  return fixtureUserIds().map((id, i) => ({ id, name: `User ${i}`, email: `user${i}@example.com`, createTime, orderCount: 0, totalSpentCents: 0 }));
}

/** The fixture orders by user id, as every peer's ListOrders serves them. */
export function fixtureOrdersByUser(): Map<string, FixtureOrder[]> {
  const byUser = new Map<string, FixtureOrder[]>();
  for (const order of fixtureOrders()) byUser.set(order.userId, [...(byUser.get(order.userId) ?? []), order]);
  return byUser;
}

export function fixtureOrders(): FixtureOrder[] {
  const createTime = new Date('2024-01-02T00:00:00Z');
  return fixtureUserIds().flatMap((userId, u) =>
    Array.from({ length: ORDERS_PER_USER }, (_, o) => {
      const items = [{ sku: `SKU-${(u + o) % 17}`, quantity: 1 + o, unitPriceCents: 250 + 10 * o }];
      const totalCents = items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0);
      return { id: `order-${u}-${o}`, userId, items, totalCents, createTime, requestId: `bench-${u}-${o}` };
    }),
  );
}
