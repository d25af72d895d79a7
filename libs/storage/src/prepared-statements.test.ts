import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { withNamedStatements } from './postgres-named-statements';
import { createScratchStorage, type ScratchStorage } from './scratch-storage';
import { withStatementCache } from './sqlite-statement-cache';

interface TestDatabase {
  widgets: { id: string; name: string; size?: number };
}

describe('SQLite statements prepared once', () => {
  let dir: string;
  let raw: Database.Database;
  let prepared: string[];
  let db: Kysely<TestDatabase>;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'statement-cache-'));
    raw = new Database(path.join(dir, 'widgets.sqlite'));
    raw.exec("create table widgets (id text primary key, name text not null); insert into widgets values ('w1', 'gear'), ('w2', 'cog')");
    prepared = [];
    const prepare = raw.prepare.bind(raw);
    // Counts what reaches SQLite's own prepare, under the cache.
    const counting = Object.assign(Object.create(raw) as Database.Database, {
      prepare: (text: string) => {
        prepared.push(text);
        return prepare(text);
      },
      close: () => raw.close(),
    });
    db = new Kysely<TestDatabase>({ dialect: new SqliteDialect({ database: withStatementCache(counting, 3) }) });
  });
  afterEach(async () => {
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  const byId = (id: string) => db.selectFrom('widgets').selectAll().where('id', '=', id).executeTakeFirst();

  it('prepares a query once and answers each call with its own parameters', async () => {
    expect(await byId('w1')).toEqual({ id: 'w1', name: 'gear' });
    expect(await byId('w2')).toEqual({ id: 'w2', name: 'cog' });
    expect(await byId('w3')).toBeUndefined();
    await db.insertInto('widgets').values({ id: 'w3', name: 'sprocket' }).execute();
    expect(await byId('w3')).toEqual({ id: 'w3', name: 'sprocket' });
    expect(prepared.filter((text) => text.startsWith('select'))).toHaveLength(1);
  });

  it('sees a column added after the statement was prepared', async () => {
    await byId('w1');
    raw.exec('alter table widgets add column size integer not null default 7');
    expect(await byId('w1')).toEqual({ id: 'w1', name: 'gear', size: 7 });
  });

  it('keeps at most its capacity, dropping the least recently used', async () => {
    const countAll = () => db.selectFrom('widgets').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const names = () => db.selectFrom('widgets').select('name').orderBy('name').execute();
    const ids = () => db.selectFrom('widgets').select('id').orderBy('id').execute();
    await byId('w1');
    await countAll();
    await names();
    await byId('w2'); // used again: now the most recent
    await ids(); // a fourth: countAll, the least recently used, goes
    prepared.length = 0;
    await byId('w1');
    await names();
    await ids();
    expect(prepared).toEqual([]);
    expect((await countAll()).n).toBe(2);
    expect(prepared).toHaveLength(1);
  });
});

describe('PostgreSQL named prepared statements', () => {
  let scratch: ScratchStorage;
  let pool: pg.Pool;
  let db: Kysely<TestDatabase>;

  const open = (limit?: number) => {
    pool = new pg.Pool({ connectionString: scratch.databaseUrl, max: 1 });
    db = new Kysely<TestDatabase>({ dialect: new PostgresDialect({ pool: withNamedStatements(pool, limit) }) });
  };
  // The pool holds one connection, so this reads the session the queries ran on.
  const preparedHere = async () =>
    (await sql<{ statement: string }>`select statement from pg_prepared_statements order by prepare_time`.execute(db)).rows.map((row) => row.statement);

  beforeEach(async () => {
    scratch = await createScratchStorage('postgres', 'storage_named');
    const admin = new pg.Client({ connectionString: scratch.databaseUrl });
    await admin.connect();
    await admin.query("create table widgets (id text primary key, name text not null); insert into widgets values ('w1', 'gear'), ('w2', 'cog')");
    await admin.end();
  });
  afterEach(async () => {
    await db.destroy();
    await scratch.dispose();
  });

  const byId = (id: string) => db.selectFrom('widgets').selectAll().where('id', '=', id).executeTakeFirst();

  it('prepares a query once per connection and answers each call with its own parameters', async () => {
    open();
    expect(await byId('w1')).toEqual({ id: 'w1', name: 'gear' });
    expect(await byId('w2')).toEqual({ id: 'w2', name: 'cog' });
    await db.insertInto('widgets').values({ id: 'w3', name: 'sprocket' }).execute();
    await db.insertInto('widgets').values({ id: 'w4', name: 'spring' }).execute();
    expect(await byId('w4')).toEqual({ id: 'w4', name: 'spring' });
    const statements = await preparedHere();
    expect(statements.filter((text) => text.startsWith('select * from "widgets"'))).toHaveLength(1);
    expect(statements.filter((text) => text.startsWith('insert into "widgets"'))).toHaveLength(1);
  });

  it('names no more than its limit of distinct texts and runs the rest unnamed', async () => {
    open(1);
    await byId('w1');
    expect(await db.selectFrom('widgets').select('name').where('id', '=', 'w2').executeTakeFirst()).toEqual({ name: 'cog' });
    expect(await preparedHere()).toEqual([expect.stringMatching(/^select \* from "widgets"/)]);
  });

  it('runs a statement made stale by a migration in another process, and unnamed from then on', async () => {
    open();
    expect(await byId('w1')).toEqual({ id: 'w1', name: 'gear' });
    const other = new pg.Client({ connectionString: scratch.databaseUrl });
    await other.connect();
    await other.query('alter table widgets add column size integer not null default 7');
    await other.end();
    expect(await byId('w1')).toEqual({ id: 'w1', name: 'gear', size: 7 });
    expect(await byId('w2')).toEqual({ id: 'w2', name: 'cog', size: 7 });
  });
});
