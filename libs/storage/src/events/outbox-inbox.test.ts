import type { Kysely } from 'kysely';
import pino from 'pino';
import { openDatabase } from '../open-database';
import { createScratchStorage, type ScratchStorage } from '../scratch-storage';
import type { StorageEngine } from '../storage-engine';
import { createInboxTable, recordInInbox, type InboxDatabase } from './inbox-table';
import { createOutboxStore } from './outbox-store';
import { createOutboxTable, writeOutboxEvents, type OutboxDatabase, type OutboxEvent } from './outbox-table';

const logger = pino({ level: 'silent' });

interface TestDatabase extends OutboxDatabase, InboxDatabase {
  tally: { id: string; total: number };
}

const migrations = {
  '0001_events': {
    async up(db: Kysely<unknown>) {
      await createOutboxTable(db);
      await createInboxTable(db);
      await db.schema.createTable('tally').addColumn('id', 'text', (column) => column.primaryKey()).addColumn('total', 'bigint', (column) => column.notNull()).execute();
    },
  },
};

function event(n: number, createTime = new Date(Date.UTC(2026, 0, 1, 0, 0, n))): OutboxEvent {
  return { id: `event-${String(n).padStart(4, '0')}`, subject: 'test.v1.Happened', payload: Uint8Array.from([n % 256, 0, 255]), headers: { traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` }, createTime };
}

describe.each<StorageEngine>(['sqlite', 'postgres'])('outbox and inbox on %s', (engine) => {
  let scratch: ScratchStorage;
  let db: Kysely<TestDatabase>;
  const clock = { ms: Date.UTC(2026, 0, 1) };
  const now = () => clock.ms;

  beforeEach(async () => {
    scratch = await createScratchStorage(engine, 'outbox');
    db = await openDatabase<TestDatabase>({ serviceName: 'events_test', dataDir: scratch.dataDir, databaseUrl: scratch.databaseUrl, migrations, logger });
  });
  afterEach(async () => {
    await db?.destroy();
    await scratch?.dispose();
  });

  const write = (events: OutboxEvent[]) => db.transaction().execute((trx) => writeOutboxEvents(trx, events));

  it('keeps an event only when its transaction commits, with its payload and headers intact', async () => {
    await expect(
      db.transaction().execute(async (trx) => {
        await writeOutboxEvents(trx, [event(1)]);
        throw new Error('the order failed');
      }),
    ).rejects.toThrow('the order failed');
    const outbox = createOutboxStore(db, engine, now);
    expect(await outbox.countUnsent()).toBe(0);

    await write([event(2)]);
    const [claimed] = await outbox.claim('relay-a', 10, 1000);
    expect(claimed).toEqual({ ...event(2), payload: Buffer.from([2, 0, 255]), failedAttempts: 0 });
  });

  it('hands each event to one relay at a time, oldest first, until it is sent, released, or its hold lapses', async () => {
    await write([event(3), event(1), event(2), event(4)]);
    const outbox = createOutboxStore(db, engine, now);
    const first = await outbox.claim('relay-a', 2, 1000);
    expect(first.map((e) => e.id)).toEqual(['event-0001', 'event-0002']);
    const second = await outbox.claim('relay-b', 10, 1000);
    expect(second.map((e) => e.id)).toEqual(['event-0003', 'event-0004']);
    expect(await outbox.claim('relay-c', 10, 1000)).toEqual([]);

    await outbox.markSent(['event-0001']);
    await outbox.release('relay-a', ['event-0002']);
    // Released: any relay takes it again at once, and the failure is counted.
    const again = await outbox.claim('relay-c', 10, 1000);
    expect(again.map((e) => [e.id, e.failedAttempts])).toEqual([['event-0002', 1]]);
    // A release by a relay that no longer holds the event changes nothing.
    await outbox.release('relay-a', ['event-0002']);
    expect(await outbox.claim('relay-d', 10, 1000)).toEqual([]);

    // relay-b died holding 3 and 4: after the hold they go to whoever asks; 1 was sent and never returns.
    clock.ms += 1001;
    expect((await outbox.claim('relay-d', 10, 1000)).map((e) => e.id)).toEqual(['event-0002', 'event-0003', 'event-0004']);
    expect(await outbox.countUnsent()).toBe(3);
    await outbox.markSent(['event-0002', 'event-0003', 'event-0004']);
    expect(await outbox.countUnsent()).toBe(0);
    clock.ms += 10_000;
    expect(await outbox.claim('relay-e', 10, 1000)).toEqual([]);
  });

  it('deletes only events sent before the given time', async () => {
    await write([event(1), event(2), event(3)]);
    const outbox = createOutboxStore(db, engine, now);
    await outbox.claim('relay-a', 10, 1000);
    await outbox.markSent(['event-0001']);
    clock.ms += 5000;
    await outbox.markSent(['event-0002']);
    expect(await outbox.pruneSent(new Date(clock.ms - 1000))).toBe(1);
    expect(await outbox.pruneSent(new Date(clock.ms + 1))).toBe(1);
    expect(await outbox.countUnsent()).toBe(1);
  });

  it('gives concurrent relays disjoint events, every event to exactly one', async () => {
    const events = Array.from({ length: 200 }, (_, i) => event(i + 1));
    await write(events);
    const relays = ['relay-a', 'relay-b', 'relay-c', 'relay-d'];
    // Each relay on a database handle of its own, as replicas are: their claims run on separate connections at once.
    const handles = await Promise.all(
      relays.map(() => openDatabase<TestDatabase>({ serviceName: 'events_test', dataDir: scratch.dataDir, databaseUrl: scratch.databaseUrl, migrations, logger })),
    );
    try {
      const stores = handles.map((handle) => createOutboxStore(handle, engine, now));
      const seen: string[] = [];
      for (;;) {
        const rounds = await Promise.all(stores.map((store, i) => store.claim(relays[i]!, 7, 60_000)));
        const ids = rounds.flat().map((e) => e.id);
        if (ids.length === 0) break;
        seen.push(...ids);
      }
      expect(seen).toHaveLength(200);
      expect(new Set(seen).size).toBe(200);
    } finally {
      await Promise.all(handles.map((handle) => handle.destroy()));
    }
  });

  it('applies an event once: a second delivery finds it in the inbox, a rolled-back one leaves no trace', async () => {
    await db.insertInto('tally').values({ id: 't', total: 0 }).execute();
    const apply = (eventId: string, amount: number, fail = false) =>
      db.transaction().execute(async (trx) => {
        if (!(await recordInInbox(trx, eventId, new Date(clock.ms)))) return 'duplicate';
        await trx.updateTable('tally').set((eb) => ({ total: eb('total', '+', amount) })).where('id', '=', 't').execute();
        if (fail) throw new Error('crashed before commit');
        return 'applied';
      });
    expect(await apply('e1', 5)).toBe('applied');
    expect(await apply('e1', 5)).toBe('duplicate');
    await expect(apply('e2', 7, true)).rejects.toThrow('crashed before commit');
    expect(await apply('e2', 7)).toBe('applied');
    // Concurrent deliveries of one event: exactly one applies.
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => apply('e3', 100)));
    expect(outcomes.filter((o) => o === 'applied')).toHaveLength(1);
    const { total } = await db.selectFrom('tally').select('total').where('id', '=', 't').executeTakeFirstOrThrow();
    expect(Number(total)).toBe(112);
  });
});
