import { DeadlineExceededError } from '@switchyard/runtime';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { openDatabase } from './open-database';
import { prepareQuery, type QueryParameters } from './prepared-query';
import { createScratchStorage, type ScratchStorage } from './scratch-storage';
import type { StorageEngine } from './storage-engine';
import { isUniqueViolation } from './unique-violation';

interface TestDatabase {
  widgets: { id: string; name: string; size: number };
  parts: { id: string; label: string | null; weight: number };
}

describe.each<StorageEngine>(['sqlite', 'postgres'])('prepareQuery on %s', (engine) => {
  let scratch: ScratchStorage;
  let db: Kysely<TestDatabase>;

  beforeAll(async () => {
    scratch = await createScratchStorage(engine, 'storage_prepared_query');
    db = await openDatabase<TestDatabase>({
      serviceName: 'widget',
      dataDir: scratch.dataDir,
      databaseUrl: scratch.databaseUrl,
      logger: pino({ level: 'silent' }),
      migrations: {
        '0001_widgets': {
          async up(schema: Kysely<unknown>) {
            await schema.schema
              .createTable('widgets')
              .addColumn('id', 'text', (column) => column.primaryKey())
              .addColumn('name', 'text', (column) => column.notNull())
              .addColumn('size', 'integer', (column) => column.notNull())
              .execute();
            await schema.schema
              .createTable('parts')
              .addColumn('id', 'text', (column) => column.primaryKey())
              .addColumn('label', 'text', (column) => column.unique())
              .addColumn('weight', 'bigint', (column) => column.notNull())
              .execute();
          },
        },
      },
    });
    await db
      .insertInto('widgets')
      .values([
        { id: 'w1', name: 'gear', size: 1 },
        { id: 'w2', name: 'cog', size: 2 },
        { id: 'w3', name: 'gear', size: 3 },
        { id: 'w4', name: 'gear', size: 4 },
      ])
      .execute();
  });
  afterAll(async () => {
    await db.destroy();
    await scratch.dispose();
  });

  it('runs the query compiled once with the values of each call', async () => {
    const byId = prepareQuery(db, (param: QueryParameters<{ id: string }>) => db.selectFrom('widgets').selectAll().where('id', '=', param('id')));
    expect(await byId.executeTakeFirst({ id: 'w2' })).toEqual({ id: 'w2', name: 'cog', size: 2 });
    expect(await byId.executeTakeFirst({ id: 'w1' })).toEqual({ id: 'w1', name: 'gear', size: 1 });
    expect(await byId.executeTakeFirst({ id: 'nope' })).toBeUndefined();
  });

  it('puts each value where its name stands, beside constants, in any order and more than once', async () => {
    const query = prepareQuery(db, (param: QueryParameters<{ name: string; minSize: number; limit: number; not: string }>) =>
      db
        .selectFrom('widgets')
        .select('id')
        .where('size', '<', 100)
        .where('id', '!=', param('not'))
        .where('name', '=', param('name'))
        .where('size', '>=', param('minSize'))
        .where('id', '!=', param('not'))
        .orderBy('id')
        .limit(param('limit')),
    );
    expect(await query.execute({ limit: 5, minSize: 2, name: 'gear', not: 'w4' })).toEqual([{ id: 'w3' }]);
    expect(await query.execute({ limit: 1, minSize: 0, name: 'gear', not: 'w3' })).toEqual([{ id: 'w1' }]);
    expect(await query.execute({ limit: 5, minSize: 0, name: 'cog', not: 'w1' })).toEqual([{ id: 'w2' }]);
  });

  // Queries prepared on a database openDatabase made run straight on its connection, not through
  // Kysely's executor: these check that nothing a caller sees changes with that.

  it('answers NULLs, and bigints as numbers, and runs writes', async () => {
    const insert = prepareQuery(db, (param: QueryParameters<{ id: string; label: string | null; weight: number }>) =>
      db.insertInto('parts').values({ id: param('id'), label: param('label'), weight: param('weight') }),
    );
    const byId = prepareQuery(db, (param: QueryParameters<{ id: string }>) => db.selectFrom('parts').selectAll().where('id', '=', param('id')));
    expect(await insert.execute({ id: 'p1', label: null, weight: 2 ** 40 })).toEqual([]);
    expect(await byId.executeTakeFirst({ id: 'p1' })).toEqual({ id: 'p1', label: null, weight: 2 ** 40 });
  });

  it('fails a write that breaks a unique index with an error isUniqueViolation recognizes', async () => {
    const insert = prepareQuery(db, (param: QueryParameters<{ id: string; label: string }>) =>
      db.insertInto('parts').values({ id: param('id'), label: param('label'), weight: 1 }),
    );
    await insert.execute({ id: 'p2', label: 'bolt' });
    const duplicateKey = await insert.execute({ id: 'p2', label: 'nut' }).catch((error: unknown) => error);
    const duplicateLabel = await insert.execute({ id: 'p3', label: 'bolt' }).catch((error: unknown) => error);
    expect(isUniqueViolation(duplicateKey)).toBe(true);
    expect(isUniqueViolation(duplicateLabel)).toBe(true);
    // The connection is still good afterwards.
    await insert.execute({ id: 'p3', label: 'nut' });
  });

  it('never runs inside an open transaction of another caller: it waits for the transaction to end', async () => {
    const byId = prepareQuery(db, (param: QueryParameters<{ id: string }>) => db.selectFrom('widgets').selectAll().where('id', '=', param('id')));
    let read: Promise<unknown> | undefined;
    const rolledBack = await db
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto('widgets').values({ id: 'w9', name: 'uncommitted', size: 9 }).execute();
        read = byId.executeTakeFirst({ id: 'w9' });
        // Time for the read to run, were it not waiting (PostgreSQL answers on another connection).
        await new Promise((resolve) => setTimeout(resolve, 50));
        throw new Error('roll back');
      })
      .catch((error: Error) => error.message);
    expect(rolledBack).toBe('roll back');
    expect(await read).toBeUndefined();
  });

  it('prepared on a transaction, runs inside it', async () => {
    const seen = await db
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto('widgets').values({ id: 'w8', name: 'in transaction', size: 8 }).execute();
        const byId = prepareQuery<{ id: string }, TestDatabase['widgets'], TestDatabase>(trx, (param) => trx.selectFrom('widgets').selectAll().where('id', '=', param('id')));
        const row = await byId.executeTakeFirst({ id: 'w8' });
        throw Object.assign(new Error('roll back'), { row });
      })
      .catch((error: { row?: unknown }) => error.row);
    expect(seen).toEqual({ id: 'w8', name: 'in transaction', size: 8 });
    expect(await db.selectFrom('widgets').selectAll().where('id', '=', 'w8').executeTakeFirst()).toBeUndefined();
  });

  it('sees a column added after the query was first run', async () => {
    await db.insertInto('parts').values({ id: 'p9', label: 'gear', weight: 3 }).execute();
    const byId = prepareQuery(db, (param: QueryParameters<{ id: string }>) => db.selectFrom('parts').selectAll().where('id', '=', param('id')));
    // Run on every pooled connection and, once it has connected, the pipelined one (PostgreSQL
    // prepares per connection), then change the table from elsewhere.
    await Promise.all(Array.from({ length: 12 }, () => byId.executeTakeFirst({ id: 'p9' })));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await Promise.all(Array.from({ length: 12 }, () => byId.executeTakeFirst({ id: 'p9' })));
    if (engine === 'postgres') {
      const other = new pg.Client({ connectionString: scratch.databaseUrl });
      await other.connect();
      await other.query('alter table parts add column colour text');
      await other.end();
    } else {
      await sql`alter table parts add column colour text`.execute(db);
    }
    const after = await Promise.all(Array.from({ length: 12 }, () => byId.executeTakeFirst({ id: 'p9' })));
    expect(after).toEqual(Array.from({ length: 12 }, () => ({ id: 'p9', label: 'gear', weight: 3, colour: null })));
  });
});

describe('prepareQuery on postgres', () => {
  it('pipelines concurrent statements on one connection, and fails one past the statement timeout with a DeadlineExceededError', async () => {
    const scratch = await createScratchStorage('postgres', 'storage_prepared_timeout');
    const db = await openDatabase<unknown>({
      serviceName: 'widget',
      dataDir: scratch.dataDir,
      databaseUrl: scratch.databaseUrl,
      statementTimeoutMs: 300,
      migrations: {},
      logger: pino({ level: 'silent' }),
    });
    try {
      const sleep = prepareQuery(db, (param: QueryParameters<{ seconds: number }>) => db.selectNoFrom(sql<string>`pg_sleep(${param('seconds')})::text`.as('slept')));
      const backend = prepareQuery(db, (param: QueryParameters<{ n: number }>) => db.selectNoFrom(sql<number>`pg_backend_pid() + 0 * ${param('n')}::int`.as('pid')));
      // The first statement starts the pipeline's connection (and runs on the pool).
      await backend.execute({ n: 0 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      // The pool's 10 connections would take these two at a time; the pipeline takes them all.
      const pids = (await Promise.all(Array.from({ length: 20 }, (_, n) => backend.executeTakeFirst({ n })))).map((row) => row!.pid);
      const mostOnOne = Math.max(...[...new Set(pids)].map((pid) => pids.filter((other) => other === pid).length));
      expect(mostOnOne).toBeGreaterThan(10);

      const error = await sleep.execute({ seconds: 10 }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DeadlineExceededError);
      expect(await sleep.execute({ seconds: 0 })).toEqual([{ slept: '' }]);
    } finally {
      await db.destroy();
      await scratch.dispose();
    }
  });
});
