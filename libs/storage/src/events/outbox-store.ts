import type { ClaimedEvent, Outbox } from '@switchyard/runtime';
import { sql, type Kysely } from 'kysely';
import { prepareQuery, type QueryParameters } from '../prepared-query';
import type { StorageEngine } from '../storage-engine';
import type { OutboxDatabase, OutboxTable } from './outbox-table';

function toClaimed(row: Pick<OutboxTable, 'id' | 'subject' | 'payload' | 'headers' | 'create_time' | 'failed_attempts'>): ClaimedEvent {
  return {
    id: row.id,
    subject: row.subject,
    payload: Buffer.from(row.payload, 'base64'),
    headers: JSON.parse(row.headers) as Record<string, string>,
    createTime: new Date(Number(row.create_time)),
    failedAttempts: Number(row.failed_attempts),
  };
}

/**
 * The outbox table of `db` (see createOutboxTable). Several relays may share it: on PostgreSQL a
 * claim skips rows another relay is claiming at that moment (FOR UPDATE SKIP LOCKED) instead of
 * waiting for it, and the hold keeps them apart afterwards; SQLite runs one writer at a time, so
 * its claims never overlap.
 */
export function createOutboxStore<DB extends OutboxDatabase>(database: Kysely<DB>, engine: StorageEngine, now: () => number = Date.now): Outbox {
  const db = database as unknown as Kysely<OutboxDatabase>;
  // The relay runs these two for every batch, so they are compiled once (prepareQuery) and run
  // without Kysely's executor: at low rates a batch holds one or two events.
  const claimQuery = prepareQuery(db, (param: QueryParameters<{ relayId: string; at: number; expires: number; limit: number }>) => {
    let candidates = db
      .selectFrom('outbox')
      .select('id')
      .where('sent_time', 'is', null)
      .where((eb) => eb.or([eb('claim_expires', 'is', null), eb('claim_expires', '<', param('at'))]))
      .orderBy('create_time')
      .orderBy('id')
      .limit(param('limit'));
    if (engine === 'postgres') candidates = candidates.forUpdate().skipLocked();
    return db
      .updateTable('outbox')
      .set({ claimed_by: param('relayId'), claim_expires: param('expires') })
      .where('id', 'in', candidates)
      .returning(['id', 'subject', 'payload', 'headers', 'create_time', 'failed_attempts']);
  });
  // Any number of ids as one parameter, so the statement's text is the same for every batch: a
  // text[] on PostgreSQL, a JSON array on SQLite.
  const markSentQuery = prepareQuery(db, (param: QueryParameters<{ ids: string[] | string; sentTime: number }>) =>
    db
      .updateTable('outbox')
      .set({ sent_time: param('sentTime'), claimed_by: null, claim_expires: null })
      .where(engine === 'postgres' ? sql<boolean>`id = any(cast(${param('ids')} as text[]))` : sql<boolean>`id in (select value from json_each(${param('ids')}))`)
      .where('sent_time', 'is', null),
  );
  return {
    async claim(relayId, limit, holdMs) {
      const at = now();
      const rows = await claimQuery.execute({ relayId, at, expires: at + holdMs, limit });
      // RETURNING follows no order; publish oldest first.
      return rows.map(toClaimed).sort((a, b) => a.createTime.getTime() - b.createTime.getTime() || (a.id < b.id ? -1 : 1));
    },

    async markSent(ids) {
      if (ids.length === 0) return;
      await markSentQuery.execute({ ids: engine === 'postgres' ? [...ids] : JSON.stringify(ids), sentTime: now() });
    },

    async release(relayId, ids) {
      if (ids.length === 0) return;
      await db
        .updateTable('outbox')
        .set((eb) => ({ claimed_by: null, claim_expires: null, failed_attempts: eb('failed_attempts', '+', 1) }))
        .where('id', 'in', ids)
        .where('claimed_by', '=', relayId)
        .execute();
    },

    async countUnsent() {
      const row = await db.selectFrom('outbox').select(sql<number>`count(*)`.as('unsent')).where('sent_time', 'is', null).executeTakeFirstOrThrow();
      return Number(row.unsent);
    },

    async pruneSent(before) {
      const result = await db.deleteFrom('outbox').where('sent_time', '<', before.getTime()).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
