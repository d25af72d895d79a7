import type { Kysely } from 'kysely';
import pino from 'pino';
import { openDatabase } from './open-database';
import { prepareQuery, type QueryParameters } from './prepared-query';
import { createScratchStorage, type ScratchStorage } from './scratch-storage';
import type { StorageEngine } from './storage-engine';

interface TestDatabase {
  widgets: { id: string; name: string; size: number };
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
});
