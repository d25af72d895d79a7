import { createHash } from 'node:crypto';
import type { OrderItemRecord } from './order-repository';

/** What a CreateOrder request asks for, as far as its idempotency key must vouch for it. */
export interface FingerprintedRequest {
  userId: string;
  items: readonly OrderItemRecord[];
}

/**
 * A hash of the request's canonical form (user, then each item's sku, quantity and unit price in
 * the order sent): two requests with one idempotency key are the same request when it matches.
 * The `v1:` prefix leaves room to change the canonical form without mistaking old hashes for new.
 */
export function requestFingerprint(request: FingerprintedRequest): string {
  const canonical = JSON.stringify([request.userId, request.items.map((item) => [item.sku, item.quantity, item.unitPriceCents])]);
  return `v1:${createHash('sha256').update(canonical).digest('hex')}`;
}
