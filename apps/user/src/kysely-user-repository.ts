import { sql, type Kysely, type Transaction } from 'kysely';
import { AlreadyExistsError, NotFoundError, quoted } from '@switchyard/runtime';
import { groupCommit, isUniqueViolation, prepareQuery, recordManyInInbox, toKeysetPage, type KeysetCursor, type Page, type QueryParameters, type StorageEngine } from '@switchyard/storage';
import type { OrderPlaced, UserRecord, UserRepository } from './user-repository';
import type { UserDatabase, UserRow } from './user-schema';

function toRecord(row: UserRow): UserRecord {
  return { id: row.id, name: row.name, email: row.email, createTime: new Date(row.create_time), orderCount: row.order_count, totalSpentCents: row.total_spent_cents };
}

export interface UserRepositoryOptions {
  /** The database's engine: given it, the repository may use statements only that engine runs. */
  engine?: StorageEngine;
}

/** UserRepository over the service's SQL database (SQLite or PostgreSQL). */
export function createKyselyUserRepository(db: Kysely<UserDatabase>, { engine }: UserRepositoryOptions = {}): UserRepository {
  // GetUser's query, compiled once: building and compiling it cost more than the lookup.
  const byId = prepareQuery(db, (param: QueryParameters<{ id: string }>) => db.selectFrom('users').selectAll().where('id', '=', param('id')));

  // Adds orders to their users' totals, every user in one statement (both engines name a VALUES
  // list's columns column1, column2 ...). Throwing rolls the inbox entries back too: the events stay unapplied.
  const addToTotals = async (trx: Transaction<UserDatabase>, totals: Map<string, { orderCount: number; totalCents: number }>) => {
    // In sorted order, so batches updating the same users lock them in the same order.
    const userIds = [...totals.keys()].sort();
    const values = sql.join(userIds.map((id) => sql`(${id}, cast(${totals.get(id)!.orderCount} as integer), cast(${totals.get(id)!.totalCents} as bigint))`));
    const { rows } = await sql<{ id: string }>`
      update users set order_count = users.order_count + v.column2, total_spent_cents = users.total_spent_cents + v.column3
      from (values ${values}) as v where users.id = v.column1 returning users.id`.execute(trx);
    if (rows.length < userIds.length) {
      const found = new Set(rows.map((row) => row.id));
      throw new NotFoundError('user', userIds.find((id) => !found.has(id))!);
    }
  };

  type Placed = { order: OrderPlaced; appliedTime: Date };
  // On PostgreSQL one event is one statement, so one round trip instead of four (BEGIN, the inbox,
  // the totals, COMMIT): the inbox row is written only if the user exists, the totals only if the
  // inbox row was new, and a statement commits or rolls back as a whole.
  const applyInOneStatement =
    engine === 'postgres' &&
    prepareQuery(db, (param: QueryParameters<{ eventId: string; appliedTime: number; userId: string; totalCents: number }>) =>
      db
        .with('target', (qb) => qb.selectFrom('users').select('id').where('id', '=', param('userId')))
        .with('recorded', (qb) =>
          qb
            .insertInto('inbox')
            .columns(['event_id', 'applied_time'])
            .expression((eb) => eb.selectFrom('target').select([sql<string>`cast(${param('eventId')} as text)`.as('event_id'), sql<number>`cast(${param('appliedTime')} as bigint)`.as('applied_time')]))
            .onConflict((conflict) => conflict.column('event_id').doNothing())
            .returning('event_id'),
        )
        .with('updated', (qb) =>
          qb
            .updateTable('users')
            .set((eb) => ({ order_count: eb('order_count', '+', 1), total_spent_cents: eb('total_spent_cents', '+', sql<number>`cast(${param('totalCents')} as bigint)`) }))
            .where('id', 'in', (eb) => eb.selectFrom('target').select('id'))
            .where((eb) => eb.exists(eb.selectFrom('recorded').select('event_id')))
            .returning('id'),
        )
        .selectNoFrom((eb) => [
          eb.selectFrom('target').select((count) => count.fn.countAll<number>().as('n')).as('found'),
          eb.selectFrom('updated').select((count) => count.fn.countAll<number>().as('n')).as('applied'),
        ]),
    );
  // The events the consumer has in hand go in one transaction: one inbox insert and one update.
  // On SQLite a lone event takes this path too.
  const applyBatch = (batch: readonly Placed[]) =>
    db.transaction().execute(async (trx) => {
      const appliedTime = new Date(Math.max(...batch.map((placed) => placed.appliedTime.getTime())));
      const fresh = await recordManyInInbox(trx, batch.map(({ order }) => order.eventId), appliedTime);
      const totals = new Map<string, { orderCount: number; totalCents: number }>();
      // An event id twice in one batch (a redelivery racing the first) applies once: the second is a duplicate.
      const outcomes = batch.map(({ order }): 'applied' | 'duplicate' => {
        if (!fresh.delete(order.eventId)) return 'duplicate';
        // Additions commute, so events applied in any order give the same totals.
        const total = totals.get(order.userId) ?? { orderCount: 0, totalCents: 0 };
        const totalCents = total.totalCents + order.totalCents;
        // A sum past 2^53 would lose cents: one at a time, the database adds them exactly.
        if (!Number.isSafeInteger(totalCents)) throw new RangeError(`user ${order.userId}: the batch's spend is past 2^53 cents`);
        totals.set(order.userId, { orderCount: total.orderCount + 1, totalCents });
        return 'applied';
      });
      if (totals.size > 0) await addToTotals(trx, totals);
      return outcomes;
    });
  const applyOne = !applyInOneStatement
    ? async (placed: Placed) => (await applyBatch([placed]))[0]!
    : async ({ order, appliedTime }: Placed): Promise<'applied' | 'duplicate'> => {
        const [row] = await applyInOneStatement.execute({ eventId: order.eventId, appliedTime: appliedTime.getTime(), userId: order.userId, totalCents: order.totalCents });
        if (!row || Number(row.found) === 0) throw new NotFoundError('user', order.userId);
        return Number(row.applied) > 0 ? 'applied' : 'duplicate';
      };
  const applyPlaced = groupCommit(applyBatch, applyOne);

  return {
    async create(user) {
      try {
        await db
          .insertInto('users')
          .values({ id: user.id, name: user.name, email: user.email, create_time: user.createTime.getTime(), order_count: user.orderCount, total_spent_cents: user.totalSpentCents })
          .execute();
      } catch (error) {
        // The unique index decides, so a create racing another with the same email loses here.
        if (isUniqueViolation(error)) throw new AlreadyExistsError(`a user with email ${quoted(user.email)} already exists`);
        throw error;
      }
    },

    async findById(id) {
      const row = await byId.executeTakeFirst({ id });
      return row && toRecord(row);
    },

    async findByIds(ids) {
      if (ids.length === 0) return [];
      const rows = await db.selectFrom('users').selectAll().where('id', 'in', [...new Set(ids)]).execute();
      return rows.map(toRecord);
    },

    async list(pageSize: number, cursor: KeysetCursor | undefined): Promise<Page<UserRecord>> {
      let query = db.selectFrom('users').selectAll();
      if (cursor) {
        query = query.where((eb) => eb(eb.refTuple('create_time', 'id'), '>', eb.tuple(cursor.createTimeMs, cursor.id)));
      }
      const rows = await query.orderBy('create_time').orderBy('id').limit(pageSize + 1).execute();
      return toKeysetPage(rows.map(toRecord), pageSize, (user) => ({ createTimeMs: user.createTime.getTime(), id: user.id }));
    },

    applyOrderPlaced: (order, appliedTime) => applyPlaced({ order, appliedTime }),
  };
}
