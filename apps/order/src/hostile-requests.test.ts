import { status as Status, type Client } from '@grpc/grpc-js';
import { orderV1 } from '@switchyard/proto';
import { NotFoundError } from '@switchyard/runtime';
import { encodePageToken, openDatabase, type StorageEngine } from '@switchyard/storage';
import { createScratchStorage, type ScratchStorage } from '@switchyard/storage/testing';
import { AnswerTally, describeHostileRequests, rawClient, startTestServer, type TestServer } from '@switchyard/testing';
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
    server = await startTestServer([createOrderService({ orders: createKyselyOrderRepository(db, { engine }), users: directory, logger })]);
    client = rawClient(server.address);
    // An order that exists, so random requests also reach GetOrder OK, a reused request_id and a real page token.
    const order = { id: 'o-1', userId: 'ada', items: [{ sku: 'book', quantity: 1, unitPriceCents: 100 }], totalCents: 100, requestId: 'r-1', createTime: new Date() };
    await createKyselyOrderRepository(db, { engine }).insert(order);
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

  describeHostileRequests({
    definition: orderV1.OrderServiceService,
    client: () => client,
    address: () => server.address,
    known,
    seed: SEED,
    runs: RUNS,
    tally,
    unchanged: { read: stored, refused: (code) => code !== Status.OK, promise: 'stores nothing', truncatedFrames: 'store nothing' },
  });
});
