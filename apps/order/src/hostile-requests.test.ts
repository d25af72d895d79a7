import { status as Status, type Client } from '@grpc/grpc-js';
import { orderV1 } from '@switchyard/proto';
import { NotFoundError } from '@switchyard/runtime';
import { encodePageToken, openDatabase, type StorageEngine } from '@switchyard/storage';
import { createScratchStorage, type ScratchStorage } from '@switchyard/storage/testing';
import { AnswerTally, callRaw, hostileRequests, methodsOf, randomMessageBytes, rawClient, sendFrames, startTestServer, truncatedFrames, uncleanAnswer, type TestServer } from '@switchyard/testing';
import fc from 'fast-check';
import type { Kysely } from 'kysely';
import pino from 'pino';
import { createKyselyOrderRepository } from './kysely-order-repository';
import { orderMigrations } from './order-migrations';
import type { OrderDatabase } from './order-schema';
import { createOrderService } from './order-service';
import type { UserDirectory } from './user-directory';

// Every method of OrderService, read from the generated definition, under hostile requests sent as
// raw bytes to the real handlers on real storage. FUZZ_SEED replays a failure; FUZZ_RUNS scales it.
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_129);
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
jest.setTimeout(120_000);

const USERS = ['ada', 'bob'];

/** The users that exist, answered in process: the order service's own handling is what is under test. */
const directory: UserDirectory = {
  async assertUserExists(userId) {
    if (!USERS.includes(userId)) throw new NotFoundError('user', userId);
  },
};

describe.each<StorageEngine>(['sqlite', 'postgres'])(`OrderService under hostile requests on %s (seed ${SEED})`, (engine) => {
  let scratch: ScratchStorage;
  let db: Kysely<OrderDatabase>;
  let server: TestServer;
  let client: Client;
  const tally = new AnswerTally();
  const known = [...USERS, 'r-1'];

  beforeAll(async () => {
    scratch = await createScratchStorage(engine, 'order_hostile');
    const logger = pino({ level: 'silent' });
    db = await openDatabase<OrderDatabase>({ serviceName: 'order', dataDir: scratch.dataDir, databaseUrl: scratch.databaseUrl, migrations: orderMigrations, logger });
    server = await startTestServer([createOrderService({ orders: createKyselyOrderRepository(db), users: directory, logger })]);
    client = rawClient(server.address);
    // An order that exists, so random requests also reach GetOrder OK, a reused request_id and a real page token.
    const order = { id: 'o-1', userId: 'ada', items: [{ sku: 'book', quantity: 1, unitPriceCents: 100 }], totalCents: 100, requestId: 'r-1', createTime: new Date() };
    await createKyselyOrderRepository(db).insert(order);
    known.push(order.id, encodePageToken({ createTimeMs: order.createTime.getTime(), id: order.id }));
  });
  afterAll(async () => {
    process.stdout.write(tally.lines(engine));
    client?.close();
    server?.stop();
    await db?.destroy();
    await scratch?.dispose();
  });

  /** Everything the service stores that a request could change. */
  const stored = async () => ({
    orders: await db.selectFrom('orders').selectAll().orderBy('id').execute(),
    items: await db.selectFrom('order_items').selectAll().orderBy('order_id').orderBy('position').execute(),
  });

  for (const method of methodsOf(orderV1.OrderServiceService)) {
    it(`${method.name}: random field values get a clean answer, and a refused request stores nothing`, async () => {
      await fc.assert(
        fc.asyncProperty(hostileRequests(method, known), async (bytes) => {
          const before = await stored();
          const answer = await callRaw(client, method.path, bytes);
          tally.record(method.name, answer.code);
          expect(uncleanAnswer(answer)).toBeUndefined();
          if (answer.code !== Status.OK) expect(await stored()).toEqual(before);
        }),
        { seed: SEED, numRuns: RUNS },
      );
    });

    it(`${method.name}: random bytes as the message get a clean answer`, async () => {
      await fc.assert(
        fc.asyncProperty(randomMessageBytes, async (bytes) => {
          const before = await stored();
          const answer = await callRaw(client, method.path, bytes);
          tally.record(method.name, answer.code);
          expect(uncleanAnswer(answer)).toBeUndefined();
          if (answer.code !== Status.OK) expect(await stored()).toEqual(before);
        }),
        { seed: SEED, numRuns: RUNS },
      );
    });

    it(`${method.name}: truncated frames end the call with a status that is no server fault, and store nothing`, async () => {
      await fc.assert(
        fc.asyncProperty(truncatedFrames(method, known), async (frame) => {
          const before = await stored();
          const { code } = await sendFrames(server.address, method.path, frame);
          tally.record(`${method.name} (truncated frames)`, code);
          // grpc-js itself answers a call whose message never completed: UNIMPLEMENTED or RESOURCE_EXHAUSTED.
          expect([Status.UNIMPLEMENTED, Status.RESOURCE_EXHAUSTED, Status.INVALID_ARGUMENT]).toContain(code);
          expect(await stored()).toEqual(before);
        }),
        { seed: SEED, numRuns: Math.ceil(RUNS / 3) },
      );
    });
  }
});
