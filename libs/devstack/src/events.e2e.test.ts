// Events under failure, against the BUILT apps: user and two order replicas on PostgreSQL, the
// two order relays sharing one outbox, and a NATS JetStream broker of the test's own. Each
// scenario creates 1,000 orders under open-loop load (several users, varied totals, a request id
// per order that every retry sends again) while something fails: the broker stops answering, an
// order replica dies holding claimed events or while relaying, the user app dies while applying
// a backlog. Afterwards every user's order_count and total_spent_cents, as GetUser answers them,
// equal its orders in the orders table, the inbox holds one row per order, and the stream one
// message per order. Each scenario prints one line: what the load saw, what the broker dropped as
// duplicate publishes, what the consumer was delivered again. EVENTS_E2E_LOG=<file> appends every
// app's output there; EVENTS_E2E_RATE sets the orders per second (default 50).
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { credentials, Metadata } from '@grpc/grpc-js';
import { ORDER_CREATED_SUBJECT, ORDER_EVENTS_STREAM, userV1 } from '@switchyard/proto';
import { sampleValue, scrapeMetrics } from '@switchyard/runtime/testing';
import { eventually, startNatsServer, type NatsServer } from '@switchyard/testing';
import { connect, type NatsConnection } from 'nats';
import { Client } from 'pg';
import type { AppProcess } from './app-process';
import { LocalStack } from './local-stack';
import { runOrderLoadProcess } from './load-process';
import type { OrderLoadReport } from './order-load-generator';
import { createScratchDatabase } from './postgres-database';

const workspaceRoot = resolve(__dirname, '../../..');
const ORDERS = 1000;
const RATE = Number(process.env.EVENTS_E2E_RATE ?? 50);
const LOAD_MS = (ORDERS / RATE) * 1000;
const USERS = 7;
const CONSUMER = 'user-order-totals';
const BROKER_DOWN_MS = 10_000;
// Scenario (c): events committed while the broker is paused, for the consumer to work through.
const BACKLOG = 400;
// Settling includes a dead relay's hold lapsing (15 s) and a dead consumer's deliveries coming back
// after the ack wait (10 s), on a machine busy with everything else.
const SETTLE_MS = 60_000;
jest.setTimeout(240_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function parseLine(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The id of the outbox relay an order instance logged at its start. */
function relayIdOf(instance: AppProcess): string {
  for (const line of instance.lines) {
    const entry = parseLine(line);
    if (entry?.msg === 'outbox relay started') return entry.relayId as string;
  }
  throw new Error(`${instance.name} logged no 'outbox relay started':\n${instance.lines.slice(-10).join('\n')}`);
}

function metricsPortOf(instance: AppProcess): number {
  for (const line of instance.lines) {
    const entry = parseLine(line);
    if (entry?.msg === 'metrics serving') return entry.port as number;
  }
  throw new Error(`${instance.name} logged no 'metrics serving' line`);
}

describe('events under failure: every order counted once', () => {
  let nats: NatsServer;
  let database: { url: string; drop: () => Promise<void> };
  let dataDir: string;
  let stack: LocalStack;
  let db: Client;
  let observer: NatsConnection;
  const userIds: string[] = [];
  // Every OrderCreated the broker received (a core subscription sees duplicates the stream drops), by message id.
  const publishes = new Map<string, number>();
  // Acknowledgements of redeliveries: the ack subject carries the delivery count (see beforeAll).
  let redeliveredAcks = 0;
  // Ends a load still running when a scenario failed half-way.
  const loads = new AbortController();

  const count = async (query: string, values: unknown[] = []) => Number((await db.query<{ n: string }>(query, values)).rows[0].n);
  const orderInstances = () => stack.processes.filter((p) => p.options.app === 'order' && p.running);
  const instance = (name: string) => stack.processes.find((p) => p.name === name && p.running)!;

  const loadOrders = (scenario: string) => {
    const load = runOrderLoadProcess(
      workspaceRoot,
      {
        // Straight to the replicas, half each: a killed one's orders are retried on the other.
        targets: stack.replicaPorts.order.map((port) => `127.0.0.1:${port}`),
        userIds,
        ratePerSecond: RATE,
        orders: ORDERS,
        requestIdPrefix: `events-${scenario}`,
        attemptDeadlineMs: 10_000,
        giveUpAfterMs: 60_000,
      },
      loads.signal,
    );
    // A scenario that failed before awaiting its load must not leave a rejection nobody handles.
    load.catch(() => undefined);
    return load;
  };

  const getUser = (client: userV1.UserServiceClient, id: string) =>
    new Promise<userV1.User>((done, fail) =>
      client.getUser({ id }, new Metadata(), { deadline: Date.now() + 5000 }, (error, response) => (error ? fail(error) : done(response!.user!))),
    );

  /** The stream's messages and what the consumer has yet to acknowledge. */
  const brokerState = async () => {
    const jsm = await observer.jetstreamManager();
    const stream = await jsm.streams.info(ORDER_EVENTS_STREAM.name);
    const consumer = await jsm.consumers.info(ORDER_EVENTS_STREAM.name, CONSUMER);
    const deadLetters = await jsm.streams.info('DEAD_LETTERS').then(
      (info) => info.state.messages,
      () => 0,
    );
    return { messages: stream.state.messages, pending: consumer.num_pending, ackPending: consumer.num_ack_pending, deadLetters };
  };

  /**
   * The load's answers against the orders table (nothing lost, nothing twice), then, once the
   * outbox is sent and the consumer caught up, the users' totals against the orders, the inbox
   * and the stream against the orders.
   */
  async function expectConsistent(scenario: string, load: OrderLoadReport) {
    expect(load.failed).toEqual({});
    expect(load.created).toHaveLength(ORDERS);
    const answered = new Set(load.created.map((order) => order.orderId));
    expect(answered.size).toBe(ORDERS);
    const { rows: written } = await db.query<{ id: string }>('SELECT id FROM orders WHERE request_id LIKE $1', [`events-${scenario}-%`]);
    expect(written).toHaveLength(ORDERS);
    expect(new Set(written.map((row) => row.id))).toEqual(answered);

    const orders = await count('SELECT count(*) AS n FROM orders');
    const settled = await eventually(
      async () => {
        const unsent = await count('SELECT count(*) AS n FROM outbox WHERE sent_time IS NULL');
        const inbox = await count('SELECT count(*) AS n FROM inbox');
        const broker = await brokerState();
        const state = { orders, unsent, inbox, ...broker };
        if (unsent > 0 || inbox < orders || broker.pending > 0 || broker.ackPending > 0) throw new Error(`not settled yet: ${JSON.stringify(state)}`);
        return state;
      },
      SETTLE_MS,
      `scenario ${scenario}: outbox sent and the consumer caught up`,
    );
    expect(settled).toEqual({ orders, unsent: 0, inbox: orders, messages: orders, pending: 0, ackPending: 0, deadLetters: 0 });
    // The inbox holds exactly the outbox's events: one per order.
    expect(await count('SELECT count(*) AS n FROM outbox')).toBe(orders);
    expect(await count('SELECT count(*) AS n FROM inbox JOIN outbox ON outbox.id = inbox.event_id')).toBe(orders);

    const { rows: perUser } = await db.query<{ user_id: string; n: string; cents: string }>('SELECT user_id, count(*) AS n, sum(total_cents) AS cents FROM orders GROUP BY user_id');
    const expected = new Map(perUser.map((row) => [row.user_id, { orderCount: Number(row.n), totalSpentCents: Number(row.cents) }]));
    const users = new userV1.UserServiceClient(stack.address('user'), credentials.createInsecure());
    try {
      for (const id of userIds) {
        const user = await getUser(users, id);
        expect({ id, orderCount: user.orderCount, totalSpentCents: user.totalSpentCents }).toEqual({ id, ...(expected.get(id) ?? { orderCount: 0, totalSpentCents: 0 }) });
      }
    } finally {
      users.close();
    }
    return brokerCounts();
  }

  /** Publishes the broker received (duplicates included) and events they carried, and redeliveries acknowledged, so far. */
  const brokerCounts = () => ({ publishes: [...publishes.values()].reduce((sum, n) => sum + n, 0), events: publishes.size, redelivered: redeliveredAcks });
  type BrokerCounts = ReturnType<typeof brokerCounts>;
  const sinceThen = (before: BrokerCounts, after: BrokerCounts) => {
    const received = after.publishes - before.publishes;
    const events = after.events - before.events;
    return `broker received ${received} publishes of ${events} events: ${received - events} dropped as duplicates | ${after.redelivered - before.redelivered} deliveries to the consumer were redeliveries`;
  };

  function report(scenario: string, load: OrderLoadReport, observed: string, broker: string) {
    process.stdout.write(
      `events | ${scenario.padEnd(44)} | ${ORDERS} orders at ${RATE}/s open loop | OK ${load.created.length} | attempts ${load.attempts} (retried on ${JSON.stringify(load.retriedOn)}, ${load.retriedOrders} orders needed a retry) | p99 ${load.p99Ms.toFixed(0)} ms | ${observed} | ${broker}\n`,
    );
  }

  beforeAll(async () => {
    nats = await startNatsServer();
    database = await createScratchDatabase('switchyard_events');
    dataDir = mkdtempSync(join(tmpdir(), 'switchyard-events-'));
    db = new Client({ connectionString: database.url });
    await db.connect();
    stack = await LocalStack.start({ workspaceRoot, dataDir, databaseUrl: database.url, replicas: { order: 2 }, eventsUrl: nats.url, onLine: (name, line) => process.env.EVENTS_E2E_LOG && appendFileSync(process.env.EVENTS_E2E_LOG, `${Date.now()} ${name} ${line}\n`) });
    observer = await connect({ servers: nats.url, name: 'events-e2e-observer' });
    const published = observer.subscribe(ORDER_CREATED_SUBJECT);
    void (async () => {
      for await (const message of published) {
        const id = message.headers?.get('Nats-Msg-Id') ?? '';
        publishes.set(id, (publishes.get(id) ?? 0) + 1);
      }
    })();
    // $JS.ACK.<stream>.<consumer>.<delivery count>.<stream seq>.<consumer seq>.<time>.<pending>
    const acks = observer.subscribe(`$JS.ACK.${ORDER_EVENTS_STREAM.name}.${CONSUMER}.>`);
    void (async () => {
      for await (const message of acks) if (Number(message.subject.split('.')[4]) > 1) redeliveredAcks += 1;
    })();

    const users = new userV1.UserServiceClient(stack.address('user'), credentials.createInsecure());
    for (let i = 0; i < USERS; i++) {
      const created = await new Promise<userV1.CreateUserResponse>((done, fail) =>
        users.createUser({ name: `Buyer ${i}`, email: `buyer-${i}-${Date.now()}@example.com` }, new Metadata(), { deadline: Date.now() + 10_000 }, (error, response) =>
          error ? fail(error) : done(response!),
        ),
      );
      userIds.push(created.user!.id);
    }
    users.close();
    // Both relays are up and the consumer exists before any load.
    for (const order of orderInstances()) await eventually(() => relayIdOf(order), 20_000, `${order.name}'s relay started`);
    await eventually(() => brokerState(), 20_000, 'the consumer created');
  });

  afterAll(async () => {
    loads.abort();
    await observer?.close();
    await stack?.stop();
    await db?.end();
    await database?.drop();
    await nats?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('(a) the broker stops answering for 10 s in the middle of the load', async () => {
    const before = brokerCounts();
    const load = loadOrders('a');
    await sleep(Math.max(1000, (LOAD_MS - BROKER_DOWN_MS) / 2));
    nats.pause();
    await sleep(BROKER_DOWN_MS);
    const waiting = await count('SELECT count(*) AS n FROM outbox WHERE sent_time IS NULL');
    nats.resume();
    const result = await load;
    const after = await expectConsistent('a', result);
    report('(a) broker paused 10 s', result, `${waiting} events waiting in the outbox at the resume`, sinceThen(before, after));
  });

  it('(b) an order replica SIGKILLed holding claimed, unpublished events, and another while relaying under load', async () => {
    const second = instance('order-2');
    const secondRelay = relayIdOf(second);
    const before = brokerCounts();
    const first = instance('order');
    const firstRelay = relayIdOf(first);
    const firstLinesBefore = first.lines.length;
    // Broker paused: orders commit, the relays claim their events and their publishes hang.
    nats.pause();
    const load = loadOrders('b');
    let held = 0;
    try {
      // A batch of them: a relay claims what is unsent, then waits out its publishes' timeout.
      const holding = () => count('SELECT count(*) AS n FROM outbox WHERE claimed_by = $1 AND sent_time IS NULL', [secondRelay]);
      held = await eventually(async () => ((held = await holding()) >= 20 ? held : false), 15_000, 'order-2 holding 20 claimed events').catch(() => held);
      expect(held).toBeGreaterThan(0);
      await second.stop('SIGKILL');
    } finally {
      nats.resume();
    }
    const restartingSecond = stack.restart(second);

    // The first replica, while it publishes what waited and what the load goes on creating. Both
    // are down for a moment: the load's creates are retried until one is back.
    const publishingAgain = () => first.lines.slice(firstLinesBefore).some((line) => parseLine(line)?.msg === 'publishing events again');
    const inFlight = await eventually(
      async () => publishingAgain() && ((await count('SELECT count(*) AS n FROM outbox WHERE claimed_by = $1 AND sent_time IS NULL', [firstRelay])) || false),
      15_000,
      'order publishing again, holding events',
    ).catch(() => 0);
    await first.stop('SIGKILL');
    const [restarted, restartedFirst] = await Promise.all([restartingSecond, stack.restart(first)]);
    const restartedRelay = await eventually(() => relayIdOf(restarted), 20_000, 'restarted order-2 relay started');
    await eventually(() => relayIdOf(restartedFirst), 20_000, 'restarted order relay started');
    const result = await load;
    const after = await expectConsistent('b', result);
    report(
      '(b) order SIGKILLed: claims on a paused broker, then relaying',
      result,
      `order-2 killed holding ${held} claimed events (broker paused), restarted as relay ${restartedRelay.slice(0, 8)}; order killed holding ${inFlight} events mid-publish`,
      sinceThen(before, after),
    );
  });

  it('(c) the user app SIGKILLed while its consumer applies a backlog, then restarted', async () => {
    const before = await count('SELECT count(*) AS n FROM inbox');
    const beforeCounts = brokerCounts();
    // A backlog: the orders of the first part of the load commit while the broker is paused, and
    // arrive together at the resume.
    nats.pause();
    const load = loadOrders('c');
    try {
      await eventually(async () => (await count("SELECT count(*) AS n FROM orders WHERE request_id LIKE 'events-c-%'")) >= BACKLOG, 120_000, `${BACKLOG} orders committed`);
    } finally {
      nats.resume();
    }
    const appliedAtKill = await eventually(
      async () => {
        const applied = (await count('SELECT count(*) AS n FROM inbox')) - before;
        return applied >= 100 && applied;
      },
      30_000,
      'the consumer applying the backlog',
    );
    // Creates the load still makes fail while user is away (order checks the user) and are retried.
    const user = instance('user');
    const backlog = await brokerState();
    const unsentAtKill = await count('SELECT count(*) AS n FROM outbox WHERE sent_time IS NULL');
    await user.stop('SIGKILL');
    const appliedAfterKill = (await count('SELECT count(*) AS n FROM inbox')) - before;
    const restarted = await stack.restart(user);
    const result = await load;
    const after = await expectConsistent('c', result);
    const metrics = await scrapeMetrics(metricsPortOf(restarted));
    const duplicates = sampleValue(metrics, 'events_consumed_total', { consumer: CONSUMER, outcome: 'duplicate' }) ?? 0;
    const applied = sampleValue(metrics, 'events_consumed_total', { consumer: CONSUMER, outcome: 'applied' }) ?? 0;
    report(
      '(c) user SIGKILLed mid-backlog',
      result,
      `killed after ${appliedAtKill} applied (${appliedAfterKill} committed by the kill), ${backlog.pending + backlog.ackPending} in the stream not yet acknowledged, ${unsentAtKill} not yet published; the restarted user applied ${applied} and found ${duplicates} already in its inbox`,
      sinceThen(beforeCounts, after),
    );
    // Killed mid-backlog: what was committed during the pause was not all applied yet.
    expect(appliedAtKill).toBeLessThan(BACKLOG);
  });
});
