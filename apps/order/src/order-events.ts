import { randomUUID } from 'node:crypto';
import { ORDER_CREATED_SUBJECT, orderEventsV1 } from '@switchyard/proto';
import { activeTraceHeaders } from '@switchyard/runtime';
import type { OutboxEvent } from '@switchyard/storage';
import type { OrderRecord } from './order-repository';

/**
 * The OrderCreated event of a new order, for the outbox. It carries the trace context of the call
 * creating the order, so the publish, and whatever consumes it, join that call's trace.
 */
export function orderCreatedEvent(order: OrderRecord, newId: () => string = randomUUID): OutboxEvent {
  const id = newId();
  const payload = orderEventsV1.OrderCreated.encode({
    eventId: id,
    orderId: order.id,
    userId: order.userId,
    totalCents: order.totalCents,
    itemCount: order.items.length,
    createTime: order.createTime,
  }).finish();
  return { id, subject: ORDER_CREATED_SUBJECT, payload, headers: activeTraceHeaders(), createTime: order.createTime };
}
