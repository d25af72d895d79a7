import { FieldViolations, MAX_ID_LENGTH, checkTextField } from '@switchyard/runtime';
import type { OrderItemRecord } from './order-repository';
import { orderTotalCents } from './order-total';

export const MAX_ITEMS = 100;
export const MAX_REQUEST_ID_LENGTH = MAX_ID_LENGTH;
export const MAX_SKU_LENGTH = 100;

/** A CreateOrder request after validation. */
export interface NewOrderInput {
  userId: string;
  items: OrderItemRecord[];
  /** undefined when the client sent none: that create is not idempotent. */
  requestId: string | undefined;
}

interface CreateOrderRequestFields {
  userId: string;
  items: readonly OrderItemRecord[];
  requestId: string;
}

/** Checks a CreateOrder request; throws INVALID_ARGUMENT listing every bad field. */
export function validateCreateOrder(request: CreateOrderRequestFields): NewOrderInput {
  const violations = new FieldViolations();
  checkTextField(violations, 'user_id', request.userId, { required: true, maxLength: MAX_ID_LENGTH });
  if (request.items.length === 0) violations.add('items', 'must hold at least one item');
  else if (request.items.length > MAX_ITEMS) violations.add('items', `must hold at most ${MAX_ITEMS} items`);
  else request.items.forEach((item, index) => {
    if (item.sku.trim() === '') violations.add(`items[${index}].sku`, 'is required');
    else checkTextField(violations, `items[${index}].sku`, item.sku, { maxLength: MAX_SKU_LENGTH });
    if (item.quantity <= 0) violations.add(`items[${index}].quantity`, 'must be greater than 0');
    if (item.unitPriceCents < 0) violations.add(`items[${index}].unit_price_cents`, 'must not be negative');
  });
  // int64 travels as a JavaScript number; a total past 2^53 would be silently wrong.
  if (violations.isEmpty && !Number.isSafeInteger(orderTotalCents(request.items))) {
    violations.add('items', 'total price is too large');
  }
  checkTextField(violations, 'request_id', request.requestId, { maxLength: MAX_REQUEST_ID_LENGTH });
  violations.throwIfAny();
  return {
    userId: request.userId,
    items: request.items.map((item) => ({ sku: item.sku, quantity: item.quantity, unitPriceCents: item.unitPriceCents })),
    requestId: request.requestId === '' ? undefined : request.requestId,
  };
}

/** Checks a GetOrder request's id. */
export function validateOrderId(id: string): void {
  const violations = new FieldViolations();
  checkTextField(violations, 'id', id, { required: true, maxLength: MAX_ID_LENGTH });
  violations.throwIfAny();
}

/** Checks a ListOrders request's user_id. */
export function validateListOrdersUserId(userId: string): void {
  const violations = new FieldViolations();
  checkTextField(violations, 'user_id', userId, { required: true, maxLength: MAX_ID_LENGTH });
  violations.throwIfAny();
}
