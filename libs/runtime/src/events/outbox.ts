/** An outbox row a relay holds: publish it, then report it sent or released. */
export interface ClaimedEvent {
  /** The event id: the broker's message id and the consumers' inbox key. */
  id: string;
  subject: string;
  payload: Uint8Array;
  /** Written with the event: the trace context of the transaction that wrote it. */
  headers: Record<string, string>;
  createTime: Date;
  /** Publish attempts of this event that failed before. */
  failedAttempts: number;
}

/** The outbox as a relay sees it (createOutboxStore in @switchyard/storage implements it over SQL). */
export interface Outbox {
  /**
   * Takes up to `limit` unsent events, oldest first, for `holdMs`: no other relay takes them until
   * they are reported sent or released, or the hold lapses (a relay that died mid-publish).
   */
  claim(relayId: string, limit: number, holdMs: number): Promise<ClaimedEvent[]>;
  /**
   * The broker acknowledged these: they are never published again. Whoever holds them now: a
   * relay whose hold lapsed published the same message id, which the broker kept once.
   */
  markSent(ids: readonly string[]): Promise<void>;
  /** Publishing these failed: any relay may take them again at once. */
  release(relayId: string, ids: readonly string[]): Promise<void>;
  /** Events not yet acknowledged by the broker. */
  countUnsent(): Promise<number>;
  /** Deletes events sent before `before`; returns how many. */
  pruneSent(before: Date): Promise<number>;
}
