import { credentials } from '@grpc/grpc-js';
import { orderEventsV1, userV1 } from '@switchyard/proto';
import { callUnary, NotFoundError, UnprocessableEventError, type DeliveredEvent } from '@switchyard/runtime';
import { openDatabase, type StorageEngine } from '@switchyard/storage';
import { createScratchStorage, type ScratchStorage } from '@switchyard/storage/testing';
import { startTestServer, type TestServer } from '@switchyard/testing';
import fc from 'fast-check';
import type { Kysely } from 'kysely';
import pino from 'pino';
import { createKyselyUserRepository } from './kysely-user-repository';
import { orderTotalsHandler } from './order-totals-consumer';
import { userMigrations } from './user-migrations';
import type { UserDatabase } from './user-schema';
import { createUserService } from './user-service';

const logger = pino({ level: 'silent' });

function delivery(event: Partial<orderEventsV1.OrderCreated>, deliveryCount = 1): DeliveredEvent {
  const created = orderEventsV1.OrderCreated.fromPartial({ orderId: 'o', createTime: new Date(0), itemCount: 1, ...event });
  return { subject: 'switchyard.order.v1.OrderCreated', id: created.eventId, data: orderEventsV1.OrderCreated.encode(created).finish(), deliveryCount };
}

describe.each<StorageEngine>(['sqlite', 'postgres'])("users' order totals from OrderCreated events on %s", (engine) => {
  let scratch: ScratchStorage;
  let db: Kysely<UserDatabase>;
  let server: TestServer;
  let client: userV1.UserServiceClient;
  let handle: ReturnType<typeof orderTotalsHandler>;

  beforeEach(async () => {
    scratch = await createScratchStorage(engine, 'user_totals');
    db = await openDatabase<UserDatabase>({ serviceName: 'user', dataDir: scratch.dataDir, databaseUrl: scratch.databaseUrl, migrations: userMigrations, logger });
    const users = createKyselyUserRepository(db, { engine });
    handle = orderTotalsHandler(users);
    let n = 0;
    server = await startTestServer([createUserService({ users, newId: () => `u-${++n}` })]);
    client = new userV1.UserServiceClient(server.address, credentials.createInsecure());
    for (const name of ['Ada', 'Bob']) await callUnary(client.createUser.bind(client), { name, email: `${name}@example.com` });
  });
  afterEach(async () => {
    client?.close();
    server?.stop();
    await db?.destroy();
    await scratch?.dispose();
  });

  const totals = async (id: string) => {
    const { user } = await callUnary(client.getUser.bind(client), { id });
    return { orderCount: user!.orderCount, totalSpentCents: user!.totalSpentCents };
  };

  it('adds each order to its user once, however often it is delivered, and GetUser shows it', async () => {
    expect(await handle(delivery({ eventId: 'e1', userId: 'u-1', totalCents: 1250 }))).toBe('applied');
    expect(await handle(delivery({ eventId: 'e2', userId: 'u-1', totalCents: 99 }))).toBe('applied');
    expect(await handle(delivery({ eventId: 'e1', userId: 'u-1', totalCents: 1250 }, 2))).toBe('duplicate');
    expect(await handle(delivery({ eventId: 'e3', userId: 'u-2', totalCents: 5_000_000_000 }))).toBe('applied');
    expect(await totals('u-1')).toEqual({ orderCount: 2, totalSpentCents: 1349 });
    expect(await totals('u-2')).toEqual({ orderCount: 1, totalSpentCents: 5_000_000_000 });
  });

  it('changes nothing for a user it cannot find: no inbox entry, so a later delivery still counts', async () => {
    await expect(handle(delivery({ eventId: 'e9', userId: 'u-404', totalCents: 10 }))).rejects.toThrow(NotFoundError);
    const inbox = await db.selectFrom('inbox').selectAll().execute();
    expect(inbox).toEqual([]);
  });

  it('sends what can never apply to the dead letters: bytes that are not the message, no user, a bad total', async () => {
    await expect(handle({ subject: 's', id: 'x', data: Uint8Array.from([0xff, 0xff, 0xff, 0xff]), deliveryCount: 1 })).rejects.toThrow(UnprocessableEventError);
    await expect(handle(delivery({ eventId: 'e5', userId: '', totalCents: 10 }))).rejects.toThrow(UnprocessableEventError);
    await expect(handle(delivery({ eventId: 'e6', userId: 'u-1', totalCents: -5 }))).rejects.toThrow(UnprocessableEventError);
    expect(await totals('u-1')).toEqual({ orderCount: 0, totalSpentCents: 0 });
  });

  it('applies the events handled at once in one transaction, each once, whatever copies arrive with it', async () => {
    let inboxInserts = 0;
    const counted = db.withPlugin({
      transformQuery: ({ node }) => {
        if (node.kind === 'InsertQueryNode') inboxInserts++;
        return node;
      },
      transformResult: async ({ result }) => result,
    });
    const handleCounted = orderTotalsHandler(createKyselyUserRepository(counted, { engine }));
    const events = Array.from({ length: 24 }, (_, i) => ({ eventId: `b-${i}`, userId: i % 4 === 0 ? 'u-2' : 'u-1', totalCents: 1000 * i + 1 }));
    const copies = events.slice(0, 6);
    const arrivals = [...events, ...copies];
    const outcomes = await Promise.all(arrivals.map((event) => handleCounted(delivery(event))));
    expect(inboxInserts).toBe(1);
    for (const event of events) {
      const outcomesOfEvent = outcomes.filter((_, i) => arrivals[i]!.eventId === event.eventId).sort();
      expect(outcomesOfEvent).toEqual(copies.includes(event) ? ['applied', 'duplicate'] : ['applied']);
    }
    const sum = (userId: string) => {
      const mine = events.filter((event) => event.userId === userId);
      return { orderCount: mine.length, totalSpentCents: mine.reduce((total, event) => total + event.totalCents, 0) };
    };
    expect(await totals('u-1')).toEqual(sum('u-1'));
    expect(await totals('u-2')).toEqual(sum('u-2'));
    const { n } = await db.selectFrom('inbox').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(n)).toBe(events.length);

    // Delivered again, all together: nothing changes.
    expect(new Set(await Promise.all(arrivals.map((event) => handleCounted(delivery(event, 2)))))).toEqual(new Set(['duplicate']));
    expect(await totals('u-1')).toEqual(sum('u-1'));
  });

  it('fails only the event of a missing user when it arrives with others, and applies the rest', async () => {
    const events = Array.from({ length: 10 }, (_, i) => ({ eventId: `m-${i}`, userId: i === 3 ? 'u-404' : 'u-1', totalCents: 10 }));
    const outcomes = await Promise.allSettled(events.map((event) => handle(delivery(event))));
    expect(outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : (outcome.reason as Error).constructor.name))).toEqual(
      events.map((event) => (event.userId === 'u-404' ? 'NotFoundError' : 'applied')),
    );
    expect(await totals('u-1')).toEqual({ orderCount: 9, totalSpentCents: 90 });
    const inbox = await db.selectFrom('inbox').select('event_id').orderBy('event_id').execute();
    expect(inbox.map((row) => row.event_id)).toEqual(events.filter((event) => event.userId !== 'u-404').map((event) => event.eventId).sort());
  });

  // Delivery order is not guaranteed (redeliveries, parallel publishes), so the totals must not depend on it.
  it('gives the same totals whatever order the events, and their redeliveries, arrive in', async () => {
    const events = Array.from({ length: 12 }, (_, i) => ({ eventId: `ev-${i}`, userId: i % 3 === 0 ? 'u-2' : 'u-1', totalCents: 100 * i + 7 }));
    const expected = (userId: string) => {
      const mine = events.filter((event) => event.userId === userId);
      return { orderCount: mine.length, totalSpentCents: mine.reduce((sum, event) => sum + event.totalCents, 0) };
    };
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray([...events, ...events.slice(0, 4)], { minLength: 16, maxLength: 16 }), async (arrival) => {
        round++;
        await db.deleteFrom('inbox').execute();
        await db.updateTable('users').set({ order_count: 0, total_spent_cents: 0 }).execute();
        for (const event of arrival) await handle(delivery(event));
        expect(await totals('u-1')).toEqual(expected('u-1'));
        expect(await totals('u-2')).toEqual(expected('u-2'));
      }),
      { numRuns: 15 },
    );
    expect(round).toBe(15);
  });
});
