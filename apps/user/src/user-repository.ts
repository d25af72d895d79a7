import type { KeysetCursor, Page } from '@switchyard/storage';

/** A stored user. */
export interface UserRecord {
  id: string;
  name: string;
  email: string;
  createTime: Date;
}

/** Where users are kept. */
export interface UserRepository {
  /** Stores a new user; throws AlreadyExistsError when the email is taken. */
  create(user: UserRecord): Promise<void>;
  findById(id: string): Promise<UserRecord | undefined>;
  /** The users found among `ids`, in no particular order; unknown ids are left out. */
  findByIds(ids: readonly string[]): Promise<UserRecord[]>;
  /** Users oldest first, after `cursor` (the start when undefined). */
  list(pageSize: number, cursor: KeysetCursor | undefined): Promise<Page<UserRecord>>;
}
