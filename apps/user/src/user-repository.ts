import type { KeysetCursor, Page } from '@switchyard/storage';

/** A stored user. */
export interface UserRecord {
  id: string;
  name: string;
  email: string;
  createTime: Date;
  /** Orders the user placed, counted from order's OrderCreated events (0 while events are off). */
  orderCount: number;
  /** The sum of those orders' totals. */
  totalSpentCents: number;
}

/** What one OrderCreated event adds to its user. */
export interface OrderPlaced {
  eventId: string;
  userId: string;
  totalCents: number;
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
  /**
   * Adds an order to its user's count and spend, once per event id: 'duplicate' when this event
   * was applied before (nothing changes). Throws NotFoundError for an unknown user, changing nothing.
   */
  applyOrderPlaced(order: OrderPlaced, appliedTime: Date): Promise<'applied' | 'duplicate'>;
}
