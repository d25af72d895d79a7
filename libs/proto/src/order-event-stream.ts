// Where order's events travel: part of the wire contract, like the messages themselves, so the
// publisher and every consumer name the same stream and subjects (see order_events.proto).

/** The JetStream stream that keeps order's events. */
export const ORDER_EVENTS_STREAM = { name: 'ORDER_EVENTS', subjects: ['switchyard.order.v1.>'] };

/** Subject of orderEventsV1.OrderCreated. */
export const ORDER_CREATED_SUBJECT = 'switchyard.order.v1.OrderCreated';
