import { type Kysely, type Transaction } from 'kysely';

/** The ids of events a consumer has applied, written in the same transaction as their effect. */
export interface InboxTable {
  event_id: string;
  /** When it was applied (ms since the epoch). */
  applied_time: number;
}

export interface InboxDatabase {
  inbox: InboxTable;
}

/** Creates the inbox table: call it from one of the consuming service's migrations. */
export async function createInboxTable(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('inbox')
    .addColumn('event_id', 'text', (column) => column.primaryKey())
    .addColumn('applied_time', 'bigint', (column) => column.notNull())
    .execute();
}

/**
 * Records `eventId` as applied inside `trx`, and says whether this is its first time: apply the
 * event's effect only when it returns true, in the same transaction, and the effect happens once
 * however often the event is delivered. Concurrent deliveries of one event meet on the primary key:
 * one inserts, the other waits for it and then finds it (PostgreSQL), or runs after it (SQLite).
 */
export async function recordInInbox<DB extends InboxDatabase>(trx: Transaction<DB>, eventId: string, appliedTime: Date): Promise<boolean> {
  return (await recordManyInInbox(trx, [eventId], appliedTime)).has(eventId);
}

/**
 * recordInInbox for many events in one statement: the ids recorded for the first time, which are
 * the events to apply. Ids are written in sorted order, so two such batches racing on the same
 * ids lock them in the same order and cannot deadlock.
 */
export async function recordManyInInbox<DB extends InboxDatabase>(trx: Transaction<DB>, eventIds: readonly string[], appliedTime: Date): Promise<Set<string>> {
  const ids = [...new Set(eventIds)].sort();
  if (ids.length === 0) return new Set();
  const rows = await (trx as unknown as Transaction<InboxDatabase>)
    .insertInto('inbox')
    .values(ids.map((eventId) => ({ event_id: eventId, applied_time: appliedTime.getTime() })))
    .onConflict((conflict) => conflict.column('event_id').doNothing())
    .returning('event_id')
    .execute();
  return new Set(rows.map((row) => row.event_id));
}
