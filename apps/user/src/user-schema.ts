import type { InboxTable } from '@switchyard/storage';

/** The user service's tables, as its migrations create them (see user-migrations.ts). */
export interface UserDatabase {
  users: UserRow;
  inbox: InboxTable;
}

export interface UserRow {
  id: string;
  name: string;
  /** Lower-case and trimmed; unique. */
  email: string;
  /** ms since the epoch. */
  create_time: number;
  /** Kept from order's events (migration 0002). */
  order_count: number;
  total_spent_cents: number;
}
