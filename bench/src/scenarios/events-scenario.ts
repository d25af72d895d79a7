import { findNatsServer, startNatsServer } from '@switchyard/testing';
import type { LoadMode, WindowResult } from '../bench-messages';
import { scrapeMetrics, type Sample as PrometheusSample } from '@switchyard/runtime/testing';
import { histogramBuckets, histogramQuantile, sampleSum } from '../servers/prometheus-histogram';
import { scratchDatabaseUrl, seedUsersWithOrders, startAppStack } from '../servers/app-stack';
import type { AfterStopReport, Scenario, StackLauncher, Target, Variant, VariantStack } from './scenario';
import { TRACING_10_PERCENT } from './switchyard-environment';

type Engine = 'sqlite' | 'postgres';

const SEEDED_USERS = 200;
const ENGINE_NAME: Record<Engine, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };
/** The user app's durable consumer (apps/user/src/order-totals-consumer.ts). */
const CONSUMER = 'user-order-totals';
/** The open-loop row's rate: well below what CreateOrder reaches here, so the lag is the pipeline's own, not a queue's. */
const STEADY_RATE = 50;
/** After the window, how long the harness waits for every event to be applied. */
const DRAIN_TIMEOUT_MS = 60_000;
/** Every order's event applied once the pipeline has drained. */
const ALL_APPLIED: Target[] = [{ metric: 'metrics.eventsUnapplied', atMost: 0 }];

interface EventCounts {
  /** order: events the broker acknowledged. */
  published: number;
  /** order: events in the outbox not yet acknowledged. */
  unsent: number;
  /** user: events applied to users' totals, and sent to the dead letters. */
  applied: number;
  deadLettered: number;
  /** user: the consumer's last reported pending count. */
  pending: number;
  lagBuckets: Array<{ le: number; count: number }>;
}

async function readCounts(ports: { user: number; order: number }): Promise<EventCounts> {
  const [user, order]: PrometheusSample[][] = await Promise.all([scrapeMetrics(ports.user), scrapeMetrics(ports.order)]);
  return {
    published: sampleSum(order, 'events_published_total'),
    unsent: sampleSum(order, 'events_outbox_unsent'),
    applied: sampleSum(user, 'events_consumed_total', { consumer: CONSUMER, outcome: 'applied' }),
    deadLettered: sampleSum(user, 'events_consumed_total', { consumer: CONSUMER, outcome: 'dead_lettered' }),
    pending: sampleSum(user, 'events_consumer_pending', { consumer: CONSUMER }),
    lagBuckets: histogramBuckets(user, 'events_lag_seconds', { consumer: CONSUMER }),
  };
}

/**
 * Reads the apps' event metrics as the window starts and ends: applied and published per second
 * over the window, the lag of the events applied in it, the backlog the window left; then waits
 * until every event is applied (or dead-lettered) and reports how long that took.
 */
function measureEvents(launcher: StackLauncher, ports: { user: number; order: number }): void {
  let atStart: EventCounts | undefined;
  launcher.duringWindow({
    async start() {
      atStart = await readCounts(ports);
    },
    async end(window: WindowResult): Promise<AfterStopReport> {
      const atEnd = await readCounts(ports);
      const seconds = window.elapsedMs / 1000;
      const before = atStart!;
      const lagMs = (q: number) => Math.round(histogramQuantile(q, before.lagBuckets, atEnd.lagBuckets) * 1000 * 10) / 10;
      const endedAt = Date.now();
      let drained = atEnd;
      while (drained.unsent > 0 || drained.applied + drained.deadLettered < drained.published) {
        if (Date.now() - endedAt > DRAIN_TIMEOUT_MS) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
        drained = await readCounts(ports);
      }
      return {
        metrics: {
          eventsAppliedPerSecond: Math.round((atEnd.applied - before.applied) / seconds),
          eventsPublishedPerSecond: Math.round((atEnd.published - before.published) / seconds),
          lagP50Ms: lagMs(0.5),
          lagP99Ms: lagMs(0.99),
          backlogAtEnd: atEnd.unsent + Math.max(0, atEnd.published - atEnd.applied - atEnd.deadLettered),
          drainMs: Date.now() - endedAt,
          eventsUnapplied: drained.unsent + drained.published - drained.applied - drained.deadLettered,
          deadLettered: drained.deadLettered,
        },
        notes: [
          `events from the apps' /metrics at the window's start and end: eventsAppliedPerSecond from user's events_consumed_total{outcome="applied"}, ` +
            `eventsPublishedPerSecond from order's events_published_total; lagP50Ms and lagP99Ms from user's events_lag_seconds (outbox write to applied) ` +
            `over the window, interpolated within its buckets as histogram_quantile does; backlogAtEnd: events written and not yet applied when the window ended ` +
            `(outbox unsent plus published and unapplied); drainMs: from the window's end until every event was applied (at most ${DRAIN_TIMEOUT_MS / 1000} s); ` +
            `eventsUnapplied: events of orders placed (published or unsent) not applied or dead-lettered after that`,
        ],
      };
    },
  });
}

function eventsVariant(engine: Engine, events: boolean, mode?: LoadMode): Variant {
  const name = `CreateOrder, events ${events ? 'on' : 'off'}${mode?.kind === 'open' ? `, ${mode.ratePerSecond} calls/s` : ''}`;
  return {
    name,
    description:
      `CreateOrder on the built order app (dist/apps/order, which asks the user app for the user first), ${ENGINE_NAME[engine]}` +
      (engine === 'postgres' ? ' (127.0.0.1:5432, a fresh schema, dropped afterwards)' : ' (a fresh DATA_DIR)') +
      `, ${SEEDED_USERS} users, METRICS_PORT on user and order; ` +
      (events
        ? 'EVENTS_URL on user and order to a nats-server of the harness (JetStream, a fresh store, unpinned: its CPU is not in server CPU/call): ' +
          'each order also writes OrderCreated to the outbox in its transaction, the relay publishes it, the user app applies it to the user\'s totals'
        : 'EVENTS_URL unset: the order alone, no outbox') +
      (mode?.kind === 'open' ? `; ${mode.ratePerSecond} calls/s open loop, for the lag at a rate the pipeline keeps up with (calls/s ratio is the rate, not a capacity)` : ''),
    targets: events ? ALL_APPLIED : [],
    // PostgreSQL is an outside service, and the open-loop row adds no harness path of its own.
    inSmoke: engine === 'sqlite' && mode === undefined,
    async start(launcher: StackLauncher): Promise<VariantStack> {
      const databaseUrl = await scratchDatabaseUrl(launcher, engine, 'bench_events');
      const metricsPorts = { user: await launcher.freePort(), order: await launcher.freePort() };
      let eventsUrl = '';
      if (events) {
        const nats = await startNatsServer();
        launcher.afterStop(() => nats.stop());
        eventsUrl = nats.url;
      }
      const appEnv = (app: 'user' | 'order') => ({ METRICS_PORT: String(metricsPorts[app]), EVENTS_URL: eventsUrl });
      const stack = await startAppStack(launcher, {
        env: TRACING_10_PERCENT,
        envByApp: { user: appEnv('user'), order: appEnv('order') },
        answering: 'order',
        apps: ['user', 'order'],
        databaseUrl,
      });
      const userIds = await seedUsersWithOrders(stack, SEEDED_USERS, 0);
      if (events) measureEvents(launcher, metricsPorts);
      return {
        client: { kind: 'switchyard-app', call: 'CreateOrder', target: 'registry:///order', userIds },
        clientEnv: { ...TRACING_10_PERCENT, LOG_LEVEL: 'info', REGISTRY_ADDRESS: stack.registryAddress },
        mode,
        notes: ['server CPU/call sums registry, user and order (with events on, user also applies each event)'],
      };
    },
  };
}

function eventsScenario(engine: Engine): Scenario {
  return {
    name: `events-${engine}`,
    description: `CreateOrder on the built apps on ${ENGINE_NAME[engine]} with events off and on (outbox, NATS JetStream, the user app's consumer): the outbox's cost, events/s applied, lag`,
    variants: [eventsVariant(engine, false), eventsVariant(engine, true), eventsVariant(engine, true, { kind: 'open', ratePerSecond: STEADY_RATE, maxInFlight: 1000 })],
    unavailable: () => (findNatsServer() ? undefined : 'nats-server not found (Debian: apt-get install nats-server)'),
  };
}

/** `--scenario events` runs both. */
export const eventsSqliteScenario = eventsScenario('sqlite');
export const eventsPostgresScenario = eventsScenario('postgres');
