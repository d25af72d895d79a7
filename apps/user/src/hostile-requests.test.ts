import { status as Status, type Client } from '@grpc/grpc-js';
import { userV1 } from '@switchyard/proto';
import { openDatabase, type StorageEngine } from '@switchyard/storage';
import { createScratchStorage, type ScratchStorage } from '@switchyard/storage/testing';
import { AnswerTally, describeHostileRequests, rawClient, startTestServer, type TestServer } from '@switchyard/testing';
import type { Kysely } from 'kysely';
import pino from 'pino';
import { createKyselyUserRepository } from './kysely-user-repository';
import { userMigrations } from './user-migrations';
import type { UserDatabase } from './user-schema';
import { createUserService } from './user-service';

// Every method of UserService, read from the generated definition, under hostile requests sent as
// raw bytes to the real handlers on real storage. FUZZ_SEED replays a failure; FUZZ_RUNS scales it.
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_129);
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
jest.setTimeout(120_000);

describe.each<StorageEngine>(['sqlite', 'postgres'])(`UserService under hostile requests on %s (seed ${SEED})`, (engine) => {
  let scratch: ScratchStorage;
  let db: Kysely<UserDatabase>;
  let server: TestServer;
  let client: Client;
  const tally = new AnswerTally();
  const known: string[] = [];

  beforeAll(async () => {
    scratch = await createScratchStorage(engine, 'user_hostile');
    db = await openDatabase<UserDatabase>({ serviceName: 'user', dataDir: scratch.dataDir, databaseUrl: scratch.databaseUrl, migrations: userMigrations, logger: pino({ level: 'silent' }) });
    server = await startTestServer([createUserService({ users: createKyselyUserRepository(db, { engine }) })]);
    client = rawClient(server.address);
    // Users that exist, so random requests also reach past the lookups (GetUser OK, CreateUser ALREADY_EXISTS).
    const repository = createKyselyUserRepository(db, { engine });
    for (const [id, email] of [
      ['u-ada', 'ada@example.com'],
      ['u-bob', 'bob@example.com'],
    ]) {
      await repository.create({ id: id!, name: id!, email: email!, createTime: new Date(), orderCount: 0, totalSpentCents: 0 });
      known.push(id!, email!);
    }
  });
  afterAll(async () => {
    process.stdout.write(tally.lines(engine));
    client?.close();
    server?.stop();
    await db?.destroy();
    await scratch?.dispose();
  });

  /** Everything the service stores that a request could change. */
  const stored = async () => db.selectFrom('users').selectAll().orderBy('id').execute();

  describeHostileRequests({
    definition: userV1.UserServiceService,
    client: () => client,
    address: () => server.address,
    known,
    seed: SEED,
    runs: RUNS,
    tally,
    unchanged: { read: stored, refused: (code) => code !== Status.OK, promise: 'stores nothing', truncatedFrames: 'store nothing' },
  });
});
