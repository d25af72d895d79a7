import { status as Status } from '@grpc/grpc-js';
import { DeadlineExceededError, toStatusError } from '@switchyard/runtime';
import { sql, type Kysely } from 'kysely';
import pino from 'pino';
import { openDatabase } from './open-database';
import { createScratchStorage, type ScratchStorage } from './scratch-storage';

const logger = pino({ level: 'silent' });

describe('statement timeout on PostgreSQL', () => {
  let scratch: ScratchStorage;
  let db: Kysely<unknown> | undefined;

  beforeEach(async () => {
    scratch = await createScratchStorage('postgres', 'storage_timeout');
  });
  afterEach(async () => {
    await db?.destroy();
    db = undefined;
    await scratch.dispose();
  });

  const open = (statementTimeoutMs?: number) =>
    openDatabase<unknown>({ serviceName: 'widget', dataDir: scratch.dataDir, databaseUrl: scratch.databaseUrl, statementTimeoutMs, migrations: {}, logger });

  it('cancels a statement past DATABASE_STATEMENT_TIMEOUT_MS: DEADLINE_EXCEEDED naming the limit, and the pool keeps working', async () => {
    db = await open(300);
    const started = performance.now();
    const error = await sql`select pg_sleep(10)`.execute(db).catch((caught: unknown) => caught);
    const elapsedMs = performance.now() - started;

    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(toStatusError(error)).toMatchObject({
      code: Status.DEADLINE_EXCEEDED,
      details: 'a database statement ran past 300 ms (DATABASE_STATEMENT_TIMEOUT_MS) and was cancelled',
    });
    // Cancelled by the server near 300 ms, not after the 10 s sleep; generous for a busy machine.
    expect(elapsedMs).toBeLessThan(5_000);
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db);
    expect(rows).toEqual([{ one: 1 }]);
  });

  it('cancels a statement inside a transaction and rolls the transaction back', async () => {
    db = await open(300);
    await sql`create table marks (id int primary key)`.execute(db);
    const error = await db
      .transaction()
      .execute(async (trx) => {
        await sql`insert into marks values (1)`.execute(trx);
        await sql`select pg_sleep(10)`.execute(trx);
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    const { rows } = await sql<{ count: number }>`select count(*) as count from marks`.execute(db);
    expect(rows).toEqual([{ count: 0 }]);
  });

  it('defaults to 5 s, as long as the default call deadline', async () => {
    db = await open();
    const { rows } = await sql<{ statement_timeout: string }>`show statement_timeout`.execute(db);
    expect(rows).toEqual([{ statement_timeout: '5s' }]);
  });
});
