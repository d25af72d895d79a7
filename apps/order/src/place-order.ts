import { FailedPreconditionError, NotFoundError, quoted } from '@switchyard/runtime';
import type { Logger } from 'pino';
import type { OrderRecord, OrderRepository } from './order-repository';
import { orderTotalCents } from './order-total';
import type { NewOrderInput } from './order-validation';
import type { UserDirectory } from './user-directory';

export interface PlaceOrderDependencies {
  orders: OrderRepository;
  users: UserDirectory;
  logger: Logger;
  newId: () => string;
  now: () => Date;
}

/**
 * Creates an order for an existing user, at most once per request id: a request id already seen
 * returns the first order as it was stored, whatever this request carries.
 */
export async function placeOrder(deps: PlaceOrderDependencies, input: NewOrderInput, signal: AbortSignal): Promise<OrderRecord> {
  if (input.requestId !== undefined) {
    const first = await deps.orders.findByRequestId(input.requestId);
    if (first) return first;
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
    createTime: deps.now(),
  };
  // The caller has gone: an order it will never hear about must not be written.
  signal.throwIfAborted();
  const outcome = await deps.orders.insert(order);
  if (outcome.inserted) return order;

  // Another create with this request id committed first; its order is the answer to both.
  const requestId = input.requestId ?? '';
  const winner = await deps.orders.findByRequestId(requestId);
  if (!winner) throw new Error(`request id "${requestId}" is taken but no order holds it`);
  deps.logger.debug({ requestId, orderId: winner.id }, 'concurrent create with the same request id; returning the first order');
  return winner;
}
