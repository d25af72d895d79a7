import { orderEventsV1 } from '@switchyard/proto';
import { UnprocessableEventError, type DeliveredEvent } from '@switchyard/runtime';
import type { UserRepository } from './user-repository';

/** The durable JetStream consumer keeping users' order counts and spend. */
export const ORDER_TOTALS_CONSUMER = 'user-order-totals';

function decodeOrderCreated(data: Uint8Array): orderEventsV1.OrderCreated {
  try {
    return orderEventsV1.OrderCreated.decode(data);
  } catch (error) {
    throw new UnprocessableEventError(`not an OrderCreated message: ${(error as Error).message}`);
  }
}

/**
 * Applies OrderCreated events to their users' order_count and total_spent_cents, once each (the
 * repository's inbox). An event that cannot be decoded or lacks an id, user or valid total can
 * never apply and goes to the dead letters at once; one for a user not found is retried first.
 */
export function orderTotalsHandler(users: UserRepository, now: () => Date = () => new Date()) {
  return async (event: DeliveredEvent): Promise<'applied' | 'duplicate'> => {
    const created = decodeOrderCreated(event.data);
    const eventId = created.eventId || event.id;
    if (!eventId) throw new UnprocessableEventError('OrderCreated without event_id');
    if (!created.userId) throw new UnprocessableEventError(`OrderCreated ${eventId} without user_id`);
    if (!Number.isSafeInteger(created.totalCents) || created.totalCents < 0) throw new UnprocessableEventError(`OrderCreated ${eventId}: total_cents ${created.totalCents} is not a whole amount >= 0`);
    return users.applyOrderPlaced({ eventId, userId: created.userId, totalCents: created.totalCents }, now());
  };
}
