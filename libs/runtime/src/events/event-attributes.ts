import type { Attributes } from '@opentelemetry/api';

// OpenTelemetry messaging semantic conventions: span names and attributes of publish and process.

/** Header carrying when the event was written (ms since the epoch): consumers measure lag from it. */
export const EVENT_TIME_HEADER = 'Switchyard-Event-Time';
/** JetStream's message id header: the event id. */
export const MESSAGE_ID_HEADER = 'Nats-Msg-Id';

export function publishAttributes(subject: string, eventId: string): Attributes {
  return {
    'messaging.system': 'nats',
    'messaging.operation.type': 'send',
    'messaging.operation.name': 'publish',
    'messaging.destination.name': subject,
    'messaging.message.id': eventId,
  };
}

export function processAttributes(subject: string, eventId: string | undefined, consumer: string, deliveryCount: number): Attributes {
  return {
    'messaging.system': 'nats',
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
    'messaging.destination.name': subject,
    'messaging.consumer.group.name': consumer,
    ...(eventId ? { 'messaging.message.id': eventId } : {}),
    'messaging.nats.delivery_count': deliveryCount,
  };
}
