import { status as Status } from '@grpc/grpc-js';
import { DeadlineExceededError, toStatusError, UnavailableError } from '@switchyard/runtime';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { openDatabase } from './open-database';
import { createScratchStorage, TEST_POSTGRES_URL, type ScratchStorage } from './scratch-storage';

const logger = pino({ level: 'silent' });

describe('database errors on PostgreSQL', () => {
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

  it('answers UNAVAILABLE, not INTERNAL, when the connection under a statement is cut', async () => {
    db = await open(20_000);
    const name = `victim_${process.pid}_${Date.now()}`;
    const sleeping = sql`select pg_sleep(10) as ${sql.ref(name)}`.execute(db).catch((caught: unknown) => caught);
    const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await admin.connect();
    try {
      // The backend running that statement, found by its text, terminated as a restart or failover would.
      for (let terminated = 0; terminated === 0; ) {
        const { rowCount } = await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where query like $1 and pid <> pg_backend_pid()`, [`%${name}%`]);
        terminated = rowCount ?? 0;
        if (terminated === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await admin.end();
    }
    const error = await sleeping;
    expect(error).toBeInstanceOf(UnavailableError);
    expect(toStatusError(error)).toMatchObject({ code: Status.UNAVAILABLE, details: 'the database is unavailable; try again' });
    // The process lives on, and the pool serves again once the broken connection is dropped (a
    // statement on it in between fails UNAVAILABLE too, which callers retry).
    const opened = db;
    for (let attempt = 1; ; attempt++) {
      const answer = await sql<{ one: number }>`select 1 as one`.execute(opened).catch((caught: unknown) => caught);
      if (!(answer instanceof UnavailableError) || attempt === 5) {
        expect(answer).toEqual({ rows: [{ one: 1 }] });
        break;
      }
    }
  });

  it('answers UNAVAILABLE when no connection comes free in time', async () => {
    db = await open(20_000);
    const opened = db;
    // Every pooled connection busy (pg's default pool holds 10): the next waits out the connect timeout.
    const busy = Array.from({ length: 10 }, () => sql`select pg_sleep(7)`.execute(opened).catch(() => undefined));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const error = await sql`select 1`.execute(opened).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnavailableError);
    expect(toStatusError(error).code).toBe(Status.UNAVAILABLE);
    await Promise.all(busy);
  }, 20_000);
});
