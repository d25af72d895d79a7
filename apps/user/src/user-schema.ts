/** The user service's tables, as its migrations create them (see user-migrations.ts). */
export interface UserDatabase {
  users: UserRow;
}

export interface UserRow {
  id: string;
  name: string;
  /** Lower-case and trimmed; unique. */
  email: string;
  /** ms since the epoch. */
  create_time: number;
}
