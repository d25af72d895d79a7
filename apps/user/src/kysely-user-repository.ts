import type { Kysely } from 'kysely';
import { AlreadyExistsError, NotFoundError, quoted } from '@switchyard/runtime';
import { isUniqueViolation, prepareQuery, recordInInbox, toKeysetPage, type KeysetCursor, type Page, type QueryParameters } from '@switchyard/storage';
import type { UserRecord, UserRepository } from './user-repository';
import type { UserDatabase, UserRow } from './user-schema';

function toRecord(row: UserRow): UserRecord {
  return { id: row.id, name: row.name, email: row.email, createTime: new Date(row.create_time), orderCount: row.order_count, totalSpentCents: row.total_spent_cents };
}

/** UserRepository over the service's SQL database (SQLite or PostgreSQL). */
export function createKyselyUserRepository(db: Kysely<UserDatabase>): UserRepository {
  // GetUser's query, compiled once: building and compiling it cost more than the lookup.
  const byId = prepareQuery(db, (param: QueryParameters<{ id: string }>) => db.selectFrom('users').selectAll().where('id', '=', param('id')));
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

    async applyOrderPlaced(order, appliedTime) {
      return db.transaction().execute(async (trx) => {
        if (!(await recordInInbox(trx, order.eventId, appliedTime))) return 'duplicate';
        // Additions commute, so events applied in any order give the same totals.
        const updated = await trx
          .updateTable('users')
          .set((eb) => ({ order_count: eb('order_count', '+', 1), total_spent_cents: eb('total_spent_cents', '+', order.totalCents) }))
          .where('id', '=', order.userId)
          .executeTakeFirst();
        // Throwing rolls the inbox entry back too: the event stays unapplied.
        if (Number(updated.numUpdatedRows) === 0) throw new NotFoundError('user', order.userId);
        return 'applied';
      });
    },
  };
}
