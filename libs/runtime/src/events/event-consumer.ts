import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AckPolicy, ConsumerEvents, DeliverPolicy, headers as natsHeaders, nanos, type ConsumerMessages, type JetStreamClient, type JsMsg, type MsgHdrs, type NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { EVENT_TIME_HEADER, MESSAGE_ID_HEADER, processAttributes } from './event-attributes';
import type { ConsumeOutcome, EventMetrics } from './event-metrics';
import { DEAD_LETTER_STREAM, deadLetterSubject, ensureStreams, type EventStream } from './event-streams';
import type { EventsConnection } from './events-connection';
import { natsHeadersGetter } from './message-trace-context';

/** One delivery of an event to a consumer. */
export interface DeliveredEvent {
  subject: string;
  /** The event id (the JetStream message id); undefined when the publisher set none. */
  id: string | undefined;
  data: Uint8Array;
  /** 1 on the first delivery. */
  deliveryCount: number;
}

/** Thrown by a handler for an event that can never be applied (bytes that are not the message): it goes to the dead letters at once. */
export class UnprocessableEventError extends Error {
  override readonly name = 'UnprocessableEventError';
}

export interface EventConsumerOptions {
  connection: EventsConnection;
  /** The stream to read, made if missing (the consumer may start before the publisher). */
  stream: EventStream;
  /** The durable consumer's name: its position in the stream survives restarts. */
  durable: string;
  /** Only the stream's messages on this subject (wildcards allowed). Default: all of them. */
  subject?: string;
  /**
   * Applies one event, once: record its id in an inbox in the same transaction as the effect
   * (recordInInbox in @switchyard/storage) and answer 'duplicate' when it was there. Throwing
   * retries the event later, up to `maxDeliveries`.
   */
  handle(event: DeliveredEvent): Promise<'applied' | 'duplicate'>;
  logger: Logger;
  metrics?: EventMetrics;
  /** Deliveries of one event before it goes to the dead letters (`switchyard.deadletter.<durable>`). Default 5. */
  maxDeliveries?: number;
  /** How long the broker waits for an acknowledgement before delivering again (a consumer that died). Default 10000. */
  ackWaitMs?: number;
  /** Before the nth retry of a failed event: n times this. Default 500. */
  retryDelayMs?: number;
  /**
   * Events handled at once, at most. Default 16: one at a time, each its own transaction, a
   * consumer on PostgreSQL fell behind the orders. More than one means events are applied in no
   * particular order, which the handler must allow (the inbox and an order-free effect do).
   */
  concurrency?: number;
}

export interface EventConsumer {
  /** Stops after the event in hand; unacknowledged ones are delivered again later. */
  stop(): Promise<void>;
}

export const DEAD_LETTER_REASON_HEADER = 'Switchyard-Dead-Letter-Reason';
export const ORIGINAL_SUBJECT_HEADER = 'Switchyard-Original-Subject';

function eventLagSeconds(headers: MsgHdrs | undefined): number | undefined {
  const written = Number(headers?.get(EVENT_TIME_HEADER));
  return written > 0 ? Math.max(0, (Date.now() - written) / 1000) : undefined;
}

/**
 * Reads a stream through a durable JetStream consumer with explicit acknowledgements, up to
 * `concurrency` events at a time: delivery is at least once, and the handler's inbox makes the
 * effect happen once. A failing event is delivered again after a delay; after `maxDeliveries`, or at once when it can
 * never succeed, it is copied to the consumer's dead-letter subject with the reason and taken out
 * of the stream's way. Each event is processed in a span that is a child of its publish span.
 */
export function startEventConsumer(options: EventConsumerOptions): EventConsumer {
  const { connection, stream, durable, subject, handle, logger, metrics, maxDeliveries = 5, ackWaitMs = 10_000, retryDelayMs = 500, concurrency = 16 } = options;
  const tracer = trace.getTracer('switchyard-events');
  const deadLetters = deadLetterSubject(durable);
  let stopped = false;
  let messages: ConsumerMessages | undefined;
  let onStop: () => void = () => undefined;
  const stopping = new Promise<undefined>((resolve) => (onStop = () => resolve(undefined)));

  const deadLetter = async (js: JetStreamClient, message: JsMsg, reason: string) => {
    const headers = natsHeaders();
    for (const key of message.headers?.keys() ?? []) if (key !== MESSAGE_ID_HEADER) headers.set(key, message.headers!.get(key));
    headers.set(DEAD_LETTER_REASON_HEADER, reason.slice(0, 1000));
    headers.set(ORIGINAL_SUBJECT_HEADER, message.subject);
    const id = message.headers?.get(MESSAGE_ID_HEADER) || `${message.info.stream}-${message.seq}`;
    await js.publish(deadLetters, message.data, { msgID: id, headers });
  };

  const process = async (js: JetStreamClient, message: JsMsg): Promise<ConsumeOutcome> => {
    const event: DeliveredEvent = {
      subject: message.subject,
      id: message.headers?.get(MESSAGE_ID_HEADER) || undefined,
      data: message.data,
      deliveryCount: message.info.redeliveryCount,
    };
    const parent = propagation.extract(ROOT_CONTEXT, message.headers, natsHeadersGetter);
    const producer = trace.getSpanContext(parent);
    return tracer.startActiveSpan(
      `process ${message.subject}`,
      { kind: SpanKind.CONSUMER, attributes: processAttributes(message.subject, event.id, durable, event.deliveryCount), links: producer ? [{ context: producer }] : [] },
      parent,
      async (span) => {
        try {
          const outcome = await handle(event);
          message.ack();
          span.setAttribute('switchyard.event.outcome', outcome);
          return outcome;
        } catch (error) {
          const reason = (error as Error).message ?? String(error);
          span.recordException(error as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
          const hopeless = error instanceof UnprocessableEventError;
          if (!hopeless && event.deliveryCount < maxDeliveries) {
            logger.warn({ subject: event.subject, eventId: event.id, delivery: event.deliveryCount, err: reason }, 'event not applied; it is delivered again later');
            message.nak(retryDelayMs * event.deliveryCount);
            return 'retried';
          }
          try {
            await deadLetter(js, message, reason);
          } catch (publishError) {
            // Not dead-lettered yet: leave it to come back rather than lose it.
            logger.warn({ eventId: event.id, err: (publishError as Error).message }, 'cannot move the event to the dead letters yet');
            message.nak(retryDelayMs * event.deliveryCount);
            return 'retried';
          }
          message.term(reason);
          logger.error({ subject: event.subject, eventId: event.id, deliveries: event.deliveryCount, reason, deadLetterSubject: deadLetters }, 'event moved to the dead letters');
          return 'dead_lettered';
        } finally {
          span.end();
        }
      },
    );
  };

  const setUp = async (nc: NatsConnection, js: JetStreamClient): Promise<ConsumerMessages> => {
    const manager = await ensureStreams(nc, [stream, DEAD_LETTER_STREAM]);
    await manager.consumers.add(stream.name, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(ackWaitMs),
      // Deliveries are counted here, so the dead letters get the event with its reason.
      max_deliver: -1,
      ...(subject ? { filter_subject: subject } : {}),
    });
    const consumed = await (await js.consumers.get(stream.name, durable)).consume({ max_messages: 64 });
    // A consumer or stream deleted under us: end this round and set them up again.
    void (async () => {
      for await (const status of await consumed.status()) {
        if (status.type === ConsumerEvents.ConsumerDeleted || ((status.type === ConsumerEvents.ConsumerNotFound || status.type === ConsumerEvents.StreamNotFound) && Number(status.data) >= 3)) {
          logger.warn({ durable, status: status.type }, 'event consumer lost its consumer or stream; setting it up again');
          consumed.stop();
        }
      }
    })().catch(() => undefined);
    return consumed;
  };

  const run = async () => {
    const nc = await Promise.race([connection.ready().catch(() => undefined), stopping]);
    if (!nc) return;
    const js = nc.jetstream();
    for (let attempt = 1; !stopped; attempt++) {
      try {
        messages = await setUp(nc, js);
      } catch (error) {
        if (attempt === 1 || attempt % 30 === 0) logger.warn({ durable, err: (error as Error).message }, 'cannot set up the event consumer yet; retrying');
        await Promise.race([new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * attempt))), stopping]);
        continue;
      }
      if (stopped) break;
      attempt = 0;
      logger.info({ stream: stream.name, durable }, 'event consumer started');
      const inFlight = new Set<Promise<void>>();
      for await (const message of messages) {
        const handled = context.with(ROOT_CONTEXT, () => process(js, message)).then((outcome) => {
          metrics?.consumed.inc({ consumer: durable, outcome });
          metrics?.consumerPending.set({ consumer: durable }, message.info.pending);
          if (outcome === 'applied') {
            const lag = eventLagSeconds(message.headers);
            if (lag !== undefined) metrics?.lag.observe({ consumer: durable }, lag);
          }
        }, (error: Error) => {
          // An acknowledgement that could not be sent (connection gone): the broker delivers the event again.
          logger.warn({ durable, err: error.message }, 'event handled but not acknowledged; it is delivered again');
        });
        inFlight.add(handled);
        void handled.finally(() => inFlight.delete(handled));
        if (inFlight.size >= concurrency) await Promise.race(inFlight);
        if (stopped) break;
      }
      await Promise.all(inFlight);
    }
    messages?.stop();
  };
  const running = run().catch((error) => logger.error({ err: error, durable }, 'event consumer stopped on an error'));

  return {
    async stop() {
      stopped = true;
      onStop();
      messages?.stop();
      await running;
    },
  };
}
