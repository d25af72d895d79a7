import type { OrderItemRecord } from './order-repository';

/** What an order costs: the sum of quantity × unit price. Computed here, never taken from a client. */
export function orderTotalCents(items: readonly OrderItemRecord[]): number {
  return items.reduce((total, item) => total + item.quantity * item.unitPriceCents, 0);
}
