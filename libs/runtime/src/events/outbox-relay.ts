import { randomUUID } from 'node:crypto';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { headers as natsHeaders, type JetStreamClient, type NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { EVENT_TIME_HEADER, publishAttributes } from './event-attributes';
import type { EventMetrics } from './event-metrics';
import { ensureStreams, type EventStream } from './event-streams';
import type { EventsConnection } from './events-connection';
import { natsHeadersSetter, recordGetter } from './message-trace-context';
import type { ClaimedEvent, Outbox } from './outbox';

export interface OutboxRelayOptions {
  outbox: Outbox;
  connection: EventsConnection;
  /** The streams the events go to, made if missing. */
  streams: readonly EventStream[];
  logger: Logger;
  metrics?: EventMetrics;
  /** Events published at once, at most. Default 100. */
  batchSize?: number;
  /** How long a claim keeps other relays off its events. Default 15000: well past the publish timeout. */
  holdMs?: number;
  /** How often the outbox is looked at when nothing woke the relay (other replicas' events, a restart). Default 500. */
  pollIntervalMs?: number;
  /** How long one publish waits for the broker's acknowledgement. Default 5000. */
  publishTimeoutMs?: number;
  /** Sent events are deleted after this long. Default one day. */
  keepSentMs?: number;
}

export interface OutboxRelay {
  /** Look at the outbox now: call after committing events. */
  wake(): void;
  /** Stops after the batch in flight; unsent events stay in the outbox for the next start. */
  stop(): Promise<void>;
}

const MAX_BACKOFF_MS = 5000;
const PRUNE_EVERY_MS = 60_000;

/**
 * Publishes the outbox's events to JetStream, each with its event id as the message id, and marks
 * them sent only once the broker has acknowledged them: a crash between the two publishes an
 * event again, and the broker drops the copy within its duplicate window (consumers' inboxes
 * catch any later one). While the broker is unreachable, events wait in the outbox and the relay
 * backs off. Each publish is a span under the trace of the call that wrote the event.
 */
export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { outbox, connection, streams, logger, metrics, batchSize = 100, holdMs = 15_000, pollIntervalMs = 500, publishTimeoutMs = 5000, keepSentMs = 86_400_000 } = options;
  const relayId = randomUUID();
  const tracer = trace.getTracer('switchyard-events');
  let stopped = false;
  let onStop: () => void = () => undefined;
  const stopping = new Promise<undefined>((resolve) => (onStop = () => resolve(undefined)));
  let wakeUp: (() => void) | undefined;
  let onStopDuringBackoff: (() => void) | undefined;
  let woken = false;

  // Waits `ms`; a wake() (a commit) or stop() ends the wait early, unless it is a back-off after
  // failures, which only stop() ends: otherwise every commit would claim and release again.
  const sleep = (ms: number, wakeable = true) =>
    new Promise<void>((resolve) => {
      if (stopped || (wakeable && woken)) {
        woken = false;
        return resolve();
      }
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        if (wakeable) woken = false;
        resolve();
      }
      wakeUp = wakeable ? done : undefined;
      if (!wakeable) onStopDuringBackoff = done;
    });

  const publishOne = (js: JetStreamClient, event: ClaimedEvent): Promise<void> => {
    const parent = propagation.extract(ROOT_CONTEXT, event.headers, recordGetter);
    const span = tracer.startSpan(`publish ${event.subject}`, { kind: SpanKind.PRODUCER, attributes: publishAttributes(event.subject, event.id) }, parent);
    const headers = natsHeaders();
    propagation.inject(trace.setSpan(parent, span), headers, natsHeadersSetter);
    headers.set(EVENT_TIME_HEADER, String(event.createTime.getTime()));
    return js.publish(event.subject, event.payload, { msgID: event.id, headers, timeout: publishTimeoutMs }).then(
      (ack) => {
        if (ack.duplicate) span.setAttribute('messaging.nats.duplicate', true);
        span.end();
      },
      (error: Error) => {
        span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
        span.end();
        throw error;
      },
    );
  };

  // One batch: claim, publish all at once, then record what the broker acknowledged.
  const relayBatch = async (js: JetStreamClient): Promise<{ claimed: number; failed: number; lastError?: Error }> => {
    const events = await outbox.claim(relayId, batchSize, holdMs);
    if (events.length === 0) return { claimed: 0, failed: 0 };
    const outcomes = await Promise.allSettled(events.map((event) => context.with(ROOT_CONTEXT, () => publishOne(js, event))));
    const sent: string[] = [];
    const failed: string[] = [];
    let lastError: Error | undefined;
    outcomes.forEach((outcome, index) => {
      const event = events[index]!;
      if (outcome.status === 'fulfilled') {
        sent.push(event.id);
        metrics?.published.inc({ subject: event.subject });
      } else {
        failed.push(event.id);
        lastError = outcome.reason as Error;
        metrics?.publishFailures.inc({ subject: event.subject });
      }
    });
    await outbox.markSent(sent);
    await outbox.release(relayId, failed);
    return { claimed: events.length, failed: failed.length, lastError };
  };

  // Until the streams exist: at start, and again after failures (someone deleted a stream).
  const ensureStreamsOnce = async (nc: NatsConnection): Promise<boolean> => {
    try {
      await ensureStreams(nc, streams);
      return true;
    } catch (error) {
      logger.debug({ err: (error as Error).message }, 'cannot create the event streams yet');
      return false;
    }
  };

  const run = async () => {
    const nc = await Promise.race([connection.ready().catch(() => undefined), stopping]);
    if (!nc) return; // stopped, or closed before the broker ever answered
    for (let attempt = 1; !(await ensureStreamsOnce(nc)); attempt++) {
      if (attempt === 1) logger.warn('cannot create the event streams yet; retrying');
      await sleep(Math.min(MAX_BACKOFF_MS, 250 * attempt));
      if (stopped) return;
    }
    const js = nc.jetstream({ timeout: publishTimeoutMs });
    logger.info({ relayId }, 'outbox relay started');
    let failures = 0;
    let nextPrune = 0;
    let nextGauge = 0;
    while (!stopped) {
      try {
        const { claimed, failed, lastError } = await relayBatch(js);
        // A count per second at most: it scans the whole backlog.
        if (metrics && Date.now() >= nextGauge) {
          nextGauge = Date.now() + 1000;
          metrics.outboxUnsent.set(await outbox.countUnsent());
        }
        if (Date.now() >= nextPrune) {
          nextPrune = Date.now() + PRUNE_EVERY_MS;
          const pruned = await outbox.pruneSent(new Date(Date.now() - keepSentMs));
          if (pruned > 0) logger.debug({ pruned }, 'sent events pruned from the outbox');
        }
        if (failed > 0) {
          failures++;
          if (failures === 1) logger.warn({ failed, claimed, err: lastError?.message }, 'publishing events failed; they stay in the outbox and are retried');
          await sleep(Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.min(failures, 6)), false);
          // 503 is JetStream's "no stream takes this subject": someone deleted it.
          if ((lastError as { code?: string } | undefined)?.code === '503' || failures % 5 === 0) await ensureStreamsOnce(nc);
          continue;
        }
        if (failures > 0) logger.info({ afterFailures: failures }, 'publishing events again');
        failures = 0;
        // A full batch means more may be waiting.
        if (claimed < batchSize) await sleep(pollIntervalMs);
      } catch (error) {
        failures++;
        if (failures === 1 || failures % 20 === 0) logger.error({ err: error }, 'outbox relay: the outbox could not be read or updated; retrying');
        await sleep(Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.min(failures, 6)), false);
      }
    }
  };
  const running = run();

  return {
    wake() {
      woken = true;
      wakeUp?.();
    },
    async stop() {
      stopped = true;
      onStop();
      wakeUp?.();
      onStopDuringBackoff?.();
      await running;
    },
  };
}
