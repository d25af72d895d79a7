import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';

/** An event waiting in the outbox (or sent from it). Columns are portable between SQLite and PostgreSQL. */
export interface OutboxTable {
  /** The event id: the broker's message id and the consumers' inbox key. */
  id: string;
  /** Where the relay publishes it, e.g. `switchyard.order.v1.OrderCreated`. */
  subject: string;
  /** The encoded event, base64 (text keeps the table the same on both engines). */
  payload: string;
  /** Headers to publish with it, JSON: the trace context of the transaction that wrote it. */
  headers: string;
  /** Milliseconds since the epoch. */
  create_time: number;
  /** The relay holding the row while it publishes; NULL when none. */
  claimed_by: string | null;
  /** When that relay's hold lapses (ms): another relay may take the row after it. */
  claim_expires: number | null;
  /** When the broker acknowledged it (ms); NULL while it waits. */
  sent_time: number | null;
  /** Publish attempts that failed. */
  failed_attempts: number;
}

export interface OutboxDatabase {
  outbox: OutboxTable;
}

/** What a service writes in the same transaction as the change it announces. */
export interface OutboxEvent {
  id: string;
  subject: string;
  payload: Uint8Array;
  /** Trace context and the like, as text headers. */
  headers: Record<string, string>;
  createTime: Date;
}

/**
 * Creates the outbox table: call it from one of the service's migrations. The partial index keeps
 * the relay's scan to the rows not sent yet, however many sent rows remain.
 */
export async function createOutboxTable(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('outbox')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('subject', 'text', (column) => column.notNull())
    .addColumn('payload', 'text', (column) => column.notNull())
    .addColumn('headers', 'text', (column) => column.notNull())
    .addColumn('create_time', 'bigint', (column) => column.notNull())
    .addColumn('claimed_by', 'text')
    .addColumn('claim_expires', 'bigint')
    .addColumn('sent_time', 'bigint')
    .addColumn('failed_attempts', 'integer', (column) => column.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createIndex('outbox_unsent_idx')
    .on('outbox')
    .columns(['create_time', 'id'])
    .where(sql.ref('sent_time'), 'is', null)
    .execute();
  await db.schema.createIndex('outbox_sent_time_idx').on('outbox').column('sent_time').execute();
}

/** An event as an outbox row, not yet claimed or sent. */
function toOutboxRow(event: OutboxEvent): OutboxTable {
  return {
    id: event.id,
    subject: event.subject,
    payload: Buffer.from(event.payload).toString('base64'),
    headers: JSON.stringify(event.headers),
    create_time: event.createTime.getTime(),
    claimed_by: null,
    claim_expires: null,
    sent_time: null,
    failed_attempts: 0,
  };
}

/** Adds events to the outbox inside `trx`: they are published if, and only if, the transaction commits. */
export async function writeOutboxEvents<DB extends OutboxDatabase>(trx: Transaction<DB>, events: readonly OutboxEvent[]): Promise<void> {
  if (events.length === 0) return;
  await (trx as unknown as Transaction<OutboxDatabase>)
    .insertInto('outbox')
    .values(events.map(toOutboxRow))
    .execute();
}

/** Any number of events as five parallel arrays, the parameters of `insertOutboxColumns`. */
export interface OutboxColumns {
  ids: string[];
  subjects: string[];
  payloads: string[];
  headers: string[];
  createTimes: number[];
}

export function toOutboxColumns(events: readonly OutboxEvent[]): OutboxColumns {
  const rows = events.map(toOutboxRow);
  return {
    ids: rows.map((row) => row.id),
    subjects: rows.map((row) => row.subject),
    payloads: rows.map((row) => row.payload),
    headers: rows.map((row) => row.headers),
    createTimes: rows.map((row) => row.create_time),
  };
}

/**
 * PostgreSQL: the insert of the events given as `toOutboxColumns`' arrays, for a data-modifying
 * CTE of a statement that makes the change they announce, so both commit together without a
 * transaction of several statements. Empty arrays insert nothing. The statement's text does not
 * depend on how many events there are, so it can be prepared once.
 */
export function insertOutboxColumns(columns: { [K in keyof OutboxColumns]: unknown }): RawBuilder<unknown> {
  return sql`insert into outbox (id, subject, payload, headers, create_time, failed_attempts)
    select event.id, event.subject, event.payload, event.headers, event.create_time, 0
    from unnest(cast(${columns.ids} as text[]), cast(${columns.subjects} as text[]), cast(${columns.payloads} as text[]),
      cast(${columns.headers} as text[]), cast(${columns.createTimes} as bigint[])) as event(id, subject, payload, headers, create_time)`;
}
