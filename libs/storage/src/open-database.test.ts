import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { openDatabase } from './open-database';
import type { Migrations } from './run-migrations';
import { createScratchStorage, TEST_POSTGRES_URL, type ScratchStorage } from './scratch-storage';
import type { StorageEngine } from './storage-engine';
import { isUniqueViolation } from './unique-violation';

interface TestDatabase {
  widgets: { id: string; name: string; size: number };
}

const logger = pino({ level: 'silent' });

const migrations: Migrations = {
  '0001_widgets': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('widgets')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('name', 'text', (column) => column.notNull().unique())
        .addColumn('size', 'bigint', (column) => column.notNull())
        .execute();
    },
  },
};

describe.each<StorageEngine>(['sqlite', 'postgres'])('openDatabase on %s', (engine) => {
  let scratch: ScratchStorage;
  const open = (extra: Migrations = {}) =>
    openDatabase<TestDatabase>({
      serviceName: 'widget',
      dataDir: scratch.dataDir,
      databaseUrl: scratch.databaseUrl,
      migrations: { ...migrations, ...extra },
      logger,
    });

  beforeEach(async () => {
    scratch = await createScratchStorage(engine, 'storage_open');
  });
  afterEach(async () => {
    await scratch.dispose();
  });

  it('migrates, and keeps data and migration history across a close and reopen', async () => {
    const first = await open();
    await first.insertInto('widgets').values({ id: 'w1', name: 'gear', size: 2 ** 40 }).execute();
    await first.destroy();

    const second = await open();
    const rows = await second.selectFrom('widgets').selectAll().execute();
    // bigint comes back as a number on both engines
    expect(rows).toEqual([{ id: 'w1', name: 'gear', size: 2 ** 40 }]);
    const { rows: history } = await sql<{ name: string }>`select name from widget_migration`.execute(second);
    expect(history.map((row) => row.name)).toEqual(['0001_widgets']);
    await second.destroy();
  });

  it('reports a unique-index violation through isUniqueViolation', async () => {
    const db = await open();
    await db.insertInto('widgets').values({ id: 'w1', name: 'gear', size: 1 }).execute();
    const duplicateName = await db
      .insertInto('widgets')
      .values({ id: 'w2', name: 'gear', size: 1 })
      .execute()
      .catch((error: unknown) => error);
    const duplicateKey = await db
      .insertInto('widgets')
      .values({ id: 'w1', name: 'cog', size: 1 })
      .execute()
      .catch((error: unknown) => error);
    const notNull = await sql`insert into widgets (id, name, size) values ('w3', null, 1)`.execute(db).catch((error: unknown) => error);
    expect(isUniqueViolation(duplicateName)).toBe(true);
    expect(isUniqueViolation(duplicateKey)).toBe(true);
    expect(isUniqueViolation(notNull)).toBe(false);
    await db.destroy();
  });

  it('fails to open when a migration fails, and leaves that migration unapplied', async () => {
    const broken: Migrations = {
      '0002_broken': {
        async up(db: Kysely<unknown>) {
          await sql`create table gadgets (id text primary key)`.execute(db);
          await sql`this is not sql`.execute(db);
        },
      },
    };
    await expect(open(broken)).rejects.toThrow(/migrating the widget database failed/);
    const db = await open();
    const { rows } = await sql<{ name: string }>`select name from widget_migration`.execute(db);
    expect(rows.map((row) => row.name)).toEqual(['0001_widgets']);
    await db.destroy();
  });
});

describe('openDatabase on sqlite', () => {
  it('creates <dataDir>/<serviceName>.sqlite in a missing directory, in WAL mode with foreign keys on', async () => {
    const scratch = await createScratchStorage('sqlite', 'storage_file');
    const dataDir = path.join(scratch.dataDir, 'nested', 'data');
    const db = await openDatabase<TestDatabase>({ serviceName: 'widget', dataDir, migrations, logger });
    const { rows: journal } = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(db);
    const { rows: foreignKeys } = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db);
    const { rows: files } = await sql<{ file: string }>`select file from pragma_database_list where name = 'main'`.execute(db);
    expect(journal[0]?.journal_mode).toBe('wal');
    expect(foreignKeys[0]?.foreign_keys).toBe(1);
    expect(files[0]?.file).toBe(path.join(dataDir, 'widget.sqlite'));
    await db.destroy();
    await scratch.dispose();
  });

  it('names DATA_DIR when the directory cannot be created', async () => {
    const scratch = await createScratchStorage('sqlite', 'storage_bad_dir');
    const blocker = path.join(scratch.dataDir, 'not-a-directory');
    await writeFile(blocker, 'x');
    await expect(openDatabase({ serviceName: 'widget', dataDir: blocker, migrations, logger })).rejects.toThrow(/DATA_DIR=.*not-a-directory/);
    await scratch.dispose();
  });

  it('refuses a service name that is not a plain identifier', async () => {
    await expect(openDatabase({ serviceName: 'user; drop', dataDir: '/tmp', migrations, logger })).rejects.toThrow(/serviceName/);
  });
});

describe('openDatabase on postgres', () => {
  it('names DATABASE_URL, without its password, when the server is unreachable', async () => {
    const databaseUrl = 'postgres://app:s3cret@127.0.0.1:1/nowhere';
    const failure = await openDatabase({ serviceName: 'widget', dataDir: '/tmp', databaseUrl, migrations, logger }).catch((error: Error) => error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(/DATABASE_URL=postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/nowhere/);
    expect((failure as Error).message).not.toContain('s3cret');
  });
});

describe('openDatabase on postgres beside other services', () => {
  it('migrates while other services in the same database create and drop their schemas', async () => {
    const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await admin.connect();
    let churning = true;
    let churned = 0;
    // Another service's test suite or teardown: schemas with serial columns appearing and going.
    const churn = (async () => {
      while (churning) {
        const schema = `storage_churn_${process.pid}_${churned++}`;
        await admin.query(`create schema ${schema}; create table ${schema}.rows (id serial primary key, a text, b text, c text)`);
        await admin.query(`drop schema ${schema} cascade`);
      }
    })();
    const opened: ScratchStorage[] = [];
    try {
      for (let i = 0; i < 15; i++) {
        const scratch = await createScratchStorage('postgres', 'storage_beside');
        opened.push(scratch);
        const db = await openDatabase<TestDatabase>({ serviceName: 'widget', dataDir: scratch.dataDir, databaseUrl: scratch.databaseUrl, migrations, logger });
        await db.destroy();
      }
    } finally {
      churning = false;
      await churn;
      await admin.end();
      await Promise.all(opened.map((scratch) => scratch.dispose()));
    }
    expect(churned).toBeGreaterThan(15);
  });
});
