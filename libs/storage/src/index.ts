// @switchyard/storage: the SQL database each service owns (SQLite by default, PostgreSQL with DATABASE_URL).

export { openDatabase, type OpenDatabaseOptions } from './open-database';
export type { Migrations } from './run-migrations';
export { storageEngineFor, type StorageEngine } from './storage-engine';
export { isUniqueViolation } from './unique-violation';
export { prepareQuery, type PreparedQuery, type QueryParameters } from './prepared-query';

// events: a transactional outbox for publishers, an inbox for consumers
export { createOutboxTable, insertOutboxColumns, toOutboxColumns, writeOutboxEvents, type OutboxColumns, type OutboxDatabase, type OutboxEvent, type OutboxTable } from './events/outbox-table';
export { createOutboxStore } from './events/outbox-store';
export { createInboxTable, recordInInbox, recordManyInInbox, type InboxDatabase, type InboxTable } from './events/inbox-table';
export { groupCommit, type BatchApplier } from './group-commit';

// paging, shared by every List RPC
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, resolvePageSize } from './page-size';
export { decodePageToken, encodePageToken, MAX_PAGE_TOKEN_LENGTH, type KeysetCursor } from './page-token';
export { toKeysetPage, type Page } from './keyset-page';
