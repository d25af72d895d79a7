// The relay and the consumer against a real NATS server with JetStream, started by the test and
// paused or killed by it. The outbox here is a small in-memory one: the SQL outbox has its own
// tests in libs/storage, and the apps' end-to-end tests run both together.
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { activeTraceHeaders, connectEvents, DEAD_LETTER_REASON_HEADER, ORIGINAL_SUBJECT_HEADER, startEventConsumer, startOutboxRelay, UnprocessableEventError, type ClaimedEvent, type DeliveredEvent, type EventsConnection, type Outbox } from '@switchyard/runtime';
import { installInMemoryTracing } from '@switchyard/runtime/testing';
import { connect, type NatsConnection } from 'nats';
import pino from 'pino';
import { eventually } from './eventually';
import { startNatsServer, type NatsServer } from './nats-server';

const logger = pino({ level: 'silent' });
const STREAM = { name: 'TEST_EVENTS', subjects: ['test.v1.>'] };
const SUBJECT = 'test.v1.Happened';

/** An outbox in memory with the SQL one's rules: holds, release, sent once acknowledged. */
class MemoryOutbox implements Outbox {
  readonly rows = new Map<string, ClaimedEvent & { heldBy?: string; holdUntil?: number; sent?: boolean }>();
  markSentFailures = 0;

  add(id: string, payload: string, headers: Record<string, string> = {}): void {
    this.rows.set(id, { id, subject: SUBJECT, payload: Buffer.from(payload), headers, createTime: new Date(), failedAttempts: 0 });
  }
  async claim(relayId: string, limit: number, holdMs: number) {
    const free = [...this.rows.values()].filter((row) => !row.sent && (!row.holdUntil || row.holdUntil < Date.now())).slice(0, limit);
    for (const row of free) Object.assign(row, { heldBy: relayId, holdUntil: Date.now() + holdMs });
    return free.map(({ id, subject, payload, headers, createTime, failedAttempts }) => ({ id, subject, payload, headers, createTime, failedAttempts }));
  }
  async markSent(ids: readonly string[]) {
    // A relay that dies after the broker's ack and before this update.
    if (this.markSentFailures > 0 && ids.length > 0) {
      this.markSentFailures--;
      throw new Error('the database went away');
    }
    for (const id of ids) Object.assign(this.rows.get(id)!, { sent: true, heldBy: undefined, holdUntil: undefined });
  }
  async release(relayId: string, ids: readonly string[]) {
    for (const id of ids) {
      const row = this.rows.get(id)!;
      if (row.heldBy === relayId) Object.assign(row, { heldBy: undefined, holdUntil: undefined, failedAttempts: row.failedAttempts + 1 });
    }
  }
  async countUnsent() {
    return [...this.rows.values()].filter((row) => !row.sent).length;
  }
  async pruneSent() {
    return 0;
  }
}

describe('events over NATS JetStream', () => {
  let nats: NatsServer;
  let inspector: NatsConnection;
  const connections: EventsConnection[] = [];
  const stops: Array<() => Promise<void>> = [];

  const open = () => {
    const connection = connectEvents({ url: nats.url, name: 'test', logger, retryDelayMs: 100 });
    connections.push(connection);
    return connection;
  };
  const streamMessages = async (stream = STREAM.name) => (await (await inspector.jetstreamManager()).streams.info(stream)).state.messages;

  beforeAll(async () => {
    nats = await startNatsServer();
    inspector = await connect({ servers: nats.url });
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    for (const connection of connections.splice(0)) await connection.close();
    const manager = await inspector.jetstreamManager();
    for (const stream of await manager.streams.names().next()) await manager.streams.delete(stream);
  });
  afterAll(async () => {
    await inspector?.close();
    await nats?.stop();
  });

  it('publishes every outbox event once, with its id as the message id, and marks it sent', async () => {
    const outbox = new MemoryOutbox();
    for (let i = 0; i < 250; i++) outbox.add(`e-${i}`, `payload ${i}`);
    const relay = startOutboxRelay({ outbox, connection: open(), streams: [STREAM], logger, batchSize: 40, pollIntervalMs: 50 });
    stops.push(() => relay.stop());
    await eventually(async () => (await outbox.countUnsent()) === 0, 10_000, 'every event sent');
    expect(await streamMessages()).toBe(250);
    const manager = await inspector.jetstreamManager();
    const stored = await manager.streams.getMessage(STREAM.name, { seq: 1 });
    expect(stored.header.get('Nats-Msg-Id')).toBe('e-0');
    expect(Buffer.from(stored.data).toString()).toBe('payload 0');
    expect(Number(stored.header.get('Switchyard-Event-Time'))).toBeGreaterThan(0);
  });

  it('publishes an event again when the relay died before marking it sent, and the broker keeps one copy', async () => {
    const outbox = new MemoryOutbox();
    for (let i = 0; i < 30; i++) outbox.add(`e-${i}`, `payload ${i}`);
    outbox.markSentFailures = 1;
    const relay = startOutboxRelay({ outbox, connection: open(), streams: [STREAM], logger, batchSize: 30, holdMs: 300, pollIntervalMs: 50 });
    stops.push(() => relay.stop());
    await eventually(async () => (await outbox.countUnsent()) === 0, 10_000, 'every event sent');
    // The first batch was acknowledged, not marked sent, held until its hold lapsed, and published again.
    expect(outbox.markSentFailures).toBe(0);
    expect(await streamMessages()).toBe(30);
  });

  it('keeps events in the outbox while the broker does not answer, and sends each once when it is back', async () => {
    const outbox = new MemoryOutbox();
    const relay = startOutboxRelay({ outbox, connection: open(), streams: [STREAM], logger, pollIntervalMs: 50, publishTimeoutMs: 500 });
    stops.push(() => relay.stop());
    outbox.add('before', 'x');
    await eventually(async () => (await outbox.countUnsent()) === 0, 10_000, 'the first event sent');

    nats.pause();
    try {
      for (let i = 0; i < 20; i++) outbox.add(`during-${i}`, 'y');
      relay.wake();
      await eventually(() => [...outbox.rows.values()].some((row) => row.failedAttempts > 0), 10_000, 'a publish to fail while the broker is paused');
      expect(await outbox.countUnsent()).toBe(20);
    } finally {
      nats.resume();
    }
    await eventually(async () => (await outbox.countUnsent()) === 0, 20_000, 'every event sent after the broker came back');
    expect(await streamMessages()).toBe(21);
  });

  it('starts while the broker is down and relays once it is up', async () => {
    await nats.kill();
    const outbox = new MemoryOutbox();
    outbox.add('early', 'z');
    const relay = startOutboxRelay({ outbox, connection: open(), streams: [STREAM], logger, pollIntervalMs: 50 });
    stops.push(() => relay.stop());
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await outbox.countUnsent()).toBe(1);
    await nats.restart();
    await inspector.close();
    inspector = await connect({ servers: nats.url });
    await eventually(async () => (await outbox.countUnsent()) === 0, 15_000, 'the event sent once the broker is up');
    expect(await streamMessages()).toBe(1);
  });

  it('backs off while the outbox fails, however many commits wake it', async () => {
    const outbox = new MemoryOutbox();
    let claims = 0;
    outbox.claim = async () => {
      claims++;
      throw new Error('the database is down');
    };
    const relay = startOutboxRelay({ outbox, connection: open(), streams: [STREAM], logger, pollIntervalMs: 10 });
    stops.push(() => relay.stop());
    await eventually(() => claims > 0, 10_000, 'the relay running');
    for (let i = 0; i < 100; i++) {
      relay.wake();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // About a second of commits: back-off allows a handful of tries, not one per commit.
    expect(claims).toBeLessThan(15);
  });

  it('makes the stream again when it was deleted, and goes on publishing', async () => {
    const outbox = new MemoryOutbox();
    const relay = startOutboxRelay({ outbox, connection: open(), streams: [STREAM], logger, pollIntervalMs: 50, publishTimeoutMs: 1000 });
    stops.push(() => relay.stop());
    outbox.add('first', 'a');
    await eventually(async () => (await outbox.countUnsent()) === 0, 10_000, 'the first event sent');
    await (await inspector.jetstreamManager()).streams.delete(STREAM.name);
    outbox.add('second', 'b');
    relay.wake();
    await eventually(async () => (await outbox.countUnsent()) === 0, 15_000, 'the second event sent to a new stream');
    expect(await streamMessages()).toBe(1);
  });

  describe('a durable consumer', () => {
    async function publish(count: number, payload: (i: number) => Uint8Array = (i) => Buffer.from(String(i))) {
      const manager = await inspector.jetstreamManager();
      await manager.streams.add({ name: STREAM.name, subjects: STREAM.subjects });
      const js = inspector.jetstream();
      for (let i = 0; i < count; i++) await js.publish(SUBJECT, payload(i), { msgID: `m-${i}` });
    }

    function consume(handle: (event: DeliveredEvent) => Promise<'applied' | 'duplicate'>, options: { maxDeliveries?: number; durable?: string } = {}) {
      const consumer = startEventConsumer({ connection: open(), stream: STREAM, durable: options.durable ?? 'test-consumer', handle, logger, maxDeliveries: options.maxDeliveries ?? 3, retryDelayMs: 20 });
      stops.push(() => consumer.stop());
      return consumer;
    }

    it('delivers again after a failure, and from where it stopped after a restart', async () => {
      await publish(10);
      const deliveries = new Map<string, number[]>();
      const first = consume(async (event) => {
        deliveries.set(event.id!, [...(deliveries.get(event.id!) ?? []), event.deliveryCount]);
        if (event.id === 'm-3' && event.deliveryCount < 3) throw new Error('the database is busy');
        return 'applied';
      });
      await eventually(() => deliveries.size === 10 && deliveries.get('m-3')!.length === 3, 10_000, 'every message handled');
      expect(deliveries.get('m-3')).toEqual([1, 2, 3]);
      expect(deliveries.get('m-0')).toEqual([1]);
      await first.stop();

      await publish(12); // m-0..m-9 are duplicates the broker drops; m-10 and m-11 are new
      const afterRestart: string[] = [];
      consume(async (event) => {
        afterRestart.push(event.id!);
        return 'applied';
      });
      await eventually(() => afterRestart.length === 2, 10_000, 'the new messages');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(afterRestart).toEqual(['m-10', 'm-11']);
    });

    it('sets itself up again when its consumer is deleted, replaying the stream from the start (inboxes absorb the repeats)', async () => {
      await publish(3);
      const handled: string[] = [];
      consume(async (event) => {
        handled.push(event.id!);
        return 'applied';
      });
      await eventually(() => handled.length === 3, 10_000, 'the first events');
      // nats-server 2.9 can fail a delete racing the consumer's own writes ("directory not empty"): ask again.
      const manager = await inspector.jetstreamManager();
      await eventually(() => manager.consumers.delete(STREAM.name, 'test-consumer').catch((error: Error) => /not found/i.test(error.message) || Promise.reject(error)), 5000, 'the consumer deleted');
      await publish(5);
      await eventually(() => handled.includes('m-4'), 20_000, 'the events after the consumer was deleted');
      expect(new Set(handled)).toEqual(new Set(['m-0', 'm-1', 'm-2', 'm-3', 'm-4']));
      expect(handled.filter((id) => id === 'm-0').length).toBeGreaterThanOrEqual(2);
    });

    it('handles several events at once, never more than its concurrency', async () => {
      await publish(40);
      let inFlight = 0;
      let most = 0;
      let done = 0;
      const consumer = startEventConsumer({
        connection: open(),
        stream: STREAM,
        durable: 'concurrent',
        concurrency: 4,
        logger,
        handle: async () => {
          most = Math.max(most, ++inFlight);
          await new Promise((resolve) => setTimeout(resolve, 20));
          inFlight--;
          done++;
          return 'applied';
        },
      });
      stops.push(() => consumer.stop());
      await eventually(() => done === 40, 10_000, 'every event handled');
      expect(most).toBe(4);
    });

    it('moves an event that keeps failing to the dead letters after the last delivery, with the reason, and goes on', async () => {
      await publish(3);
      const applied: string[] = [];
      consume(async (event) => {
        if (event.id === 'm-1') throw new Error('user u-9 does not exist');
        applied.push(event.id!);
        return 'applied';
      });
      await eventually(async () => (await streamMessages('DEAD_LETTERS').catch(() => 0)) === 1, 10_000, 'a dead letter');
      const letter = await (await inspector.jetstreamManager()).streams.getMessage('DEAD_LETTERS', { seq: 1 });
      expect(letter.subject).toBe('switchyard.deadletter.test-consumer');
      expect(letter.header.get(DEAD_LETTER_REASON_HEADER)).toBe('user u-9 does not exist');
      expect(letter.header.get(ORIGINAL_SUBJECT_HEADER)).toBe(SUBJECT);
      expect(Buffer.from(letter.data).toString()).toBe('1');
      await eventually(() => applied.length === 2, 5000, 'the other events applied');
      expect(applied.sort()).toEqual(['m-0', 'm-2']);
    });

    it('dead-letters bytes that are not the message at once, without retrying them', async () => {
      await publish(1, () => Uint8Array.from([0xff, 0xff, 0xff]));
      const seen: number[] = [];
      consume(async (event) => {
        seen.push(event.deliveryCount);
        throw new UnprocessableEventError('not a Happened message');
      });
      await eventually(async () => (await streamMessages('DEAD_LETTERS').catch(() => 0)) === 1, 10_000, 'a dead letter');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(seen).toEqual([1]);
    });
  });

  it('carries the trace: the call writing the event, its publish and its processing are one trace', async () => {
    const tracing = installInMemoryTracing();
    try {
      const outbox = new MemoryOutbox();
      const tracer = trace.getTracer('test');
      const call = tracer.startSpan('switchyard.order.v1.OrderService/CreateOrder');
      context.with(trace.setSpan(ROOT_CONTEXT, call), () => outbox.add('traced', 'x', activeTraceHeaders()));
      call.end();
      const relay = startOutboxRelay({ outbox, connection: open(), streams: [STREAM], logger, pollIntervalMs: 50 });
      stops.push(() => relay.stop());
      let processedIn: string | undefined;
      const consumer = startEventConsumer({
        connection: open(),
        stream: STREAM,
        durable: 'traced',
        handle: async () => {
          processedIn = trace.getActiveSpan()?.spanContext().traceId;
          return 'applied';
        },
        logger,
      });
      stops.push(() => consumer.stop());
      await eventually(() => processedIn, 10_000, 'the event processed');

      const spans = tracing.exporter.getFinishedSpans();
      const publish = spans.find((span) => span.name === `publish ${SUBJECT}`)!;
      const processing = spans.find((span) => span.name === `process ${SUBJECT}`)!;
      expect(processedIn).toBe(call.spanContext().traceId);
      expect(publish.spanContext().traceId).toBe(call.spanContext().traceId);
      expect(publish.parentSpanContext?.spanId).toBe(call.spanContext().spanId);
      expect(processing.parentSpanContext?.spanId).toBe(publish.spanContext().spanId);
      expect(processing.links.map((link) => link.context.spanId)).toEqual([publish.spanContext().spanId]);
      expect(publish.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.destination.name': SUBJECT, 'messaging.message.id': 'traced', 'messaging.operation.type': 'send' });
      expect(processing.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.operation.type': 'process', 'messaging.consumer.group.name': 'traced' });
    } finally {
      await tracing.uninstall();
    }
  });
});
