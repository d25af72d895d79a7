import { FailedPreconditionError, NotFoundError, quoted } from '@switchyard/runtime';
import type { Logger } from 'pino';
import type { OrderRecord, OrderRepository } from './order-repository';
import { orderTotalCents } from './order-total';
import type { NewOrderInput } from './order-validation';
import { requestFingerprint } from './request-fingerprint';
import type { UserDirectory } from './user-directory';

export interface PlaceOrderDependencies {
  orders: OrderRepository;
  users: UserDirectory;
  logger: Logger;
  newId: () => string;
  now: () => Date;
}

/**
 * The first order made with this request's key, if the request is the same as the one that made
 * it; a key reused for another payload is FAILED_PRECONDITION (as Stripe and the IETF
 * Idempotency-Key draft answer it), never the first order.
 */
function sameRequestOrRefuse(first: OrderRecord, input: NewOrderInput, fingerprint: string): OrderRecord {
  const firstFingerprint = first.requestFingerprint ?? requestFingerprint(first);
  if (firstFingerprint !== fingerprint) {
    throw new FailedPreconditionError(`request_id ${quoted(input.requestId ?? '')} was already used for a different order; send a new request_id`);
  }
  return first;
}

/**
 * Creates an order for an existing user, at most once per (user, request id): a retry of a create
 * already done returns the first order as it was stored.
 */
export async function placeOrder(deps: PlaceOrderDependencies, input: NewOrderInput, signal: AbortSignal): Promise<OrderRecord> {
  const fingerprint = requestFingerprint(input);
  if (input.requestId !== undefined) {
    const first = await deps.orders.findByRequestId(input.userId, input.requestId);
    if (first) return sameRequestOrRefuse(first, input, fingerprint);
  }

  try {
    await deps.users.assertUserExists(input.userId, signal);
  } catch (error) {
    if (error instanceof NotFoundError) throw new FailedPreconditionError(`user ${quoted(input.userId)} does not exist`);
    throw error;
  }

  const order: OrderRecord = {
    id: deps.newId(),
    userId: input.userId,
    items: input.items,
    totalCents: orderTotalCents(input.items),
    requestId: input.requestId,
    requestFingerprint: fingerprint,
    createTime: deps.now(),
  };
  // The caller has gone: an order it will never hear about must not be written.
  signal.throwIfAborted();
  const outcome = await deps.orders.insert(order);
  if (outcome.inserted) return order;

  // Another create with this user's request id committed first; its order answers both if they match.
  const requestId = input.requestId ?? '';
  const winner = await deps.orders.findByRequestId(input.userId, requestId);
  if (!winner) throw new Error(`request id ${quoted(requestId)} is taken but no order holds it`);
  deps.logger.debug({ requestId, orderId: winner.id }, 'concurrent create with the same request id; returning the first order');
  return sameRequestOrRefuse(winner, input, fingerprint);
}
