import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Seconds from an event's commit to its effect: a few ms when all is well, minutes through an outage. */
const EVENT_LAG_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** What happened to a delivered event. */
export type ConsumeOutcome = 'applied' | 'duplicate' | 'retried' | 'dead_lettered';

/** Prometheus metrics of the event relay and consumers, in the app's registry. */
export class EventMetrics {
  readonly published: Counter<'subject'>;
  readonly publishFailures: Counter<'subject'>;
  readonly outboxUnsent: Gauge;
  readonly consumed: Counter<'consumer' | 'outcome'>;
  readonly consumerPending: Gauge<'consumer'>;
  readonly lag: Histogram<'consumer'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.published = new Counter({ name: 'events_published_total', help: 'Events the broker acknowledged, by subject.', labelNames: ['subject'], registers });
    this.publishFailures = new Counter({ name: 'events_publish_failures_total', help: 'Publish attempts that failed (broker unreachable, no acknowledgement in time), by subject.', labelNames: ['subject'], registers });
    this.outboxUnsent = new Gauge({ name: 'events_outbox_unsent', help: 'Events committed to the outbox and not yet acknowledged by the broker.', registers });
    this.consumed = new Counter({ name: 'events_consumed_total', help: 'Deliveries handled, by consumer and outcome (applied, duplicate, retried, dead_lettered).', labelNames: ['consumer', 'outcome'], registers });
    this.consumerPending = new Gauge({ name: 'events_consumer_pending', help: 'Messages in the stream the consumer has not acknowledged yet: its lag in messages.', labelNames: ['consumer'], registers });
    this.lag = new Histogram({ name: 'events_lag_seconds', help: 'From the event written to the outbox to its effect applied, by consumer.', labelNames: ['consumer'], buckets: EVENT_LAG_BUCKETS, registers });
  }
}
