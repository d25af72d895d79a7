import type { ClaimedEvent, Outbox } from '@switchyard/runtime';
import { sql, type Kysely } from 'kysely';
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
  return {
    async claim(relayId, limit, holdMs) {
      const at = now();
      let candidates = db
        .selectFrom('outbox')
        .select('id')
        .where('sent_time', 'is', null)
        .where((eb) => eb.or([eb('claim_expires', 'is', null), eb('claim_expires', '<', at)]))
        .orderBy('create_time')
        .orderBy('id')
        .limit(limit);
      if (engine === 'postgres') candidates = candidates.forUpdate().skipLocked();
      const rows = await db
        .updateTable('outbox')
        .set({ claimed_by: relayId, claim_expires: at + holdMs })
        .where('id', 'in', candidates)
        .returning(['id', 'subject', 'payload', 'headers', 'create_time', 'failed_attempts'])
        .execute();
      // RETURNING follows no order; publish oldest first.
      return rows.map(toClaimed).sort((a, b) => a.createTime.getTime() - b.createTime.getTime() || (a.id < b.id ? -1 : 1));
    },

    async markSent(ids) {
      if (ids.length === 0) return;
      await db
        .updateTable('outbox')
        .set({ sent_time: now(), claimed_by: null, claim_expires: null })
        .where('id', 'in', ids)
        .where('sent_time', 'is', null)
        .execute();
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
