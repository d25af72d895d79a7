/** Applies a batch of items in one transaction: one outcome per item, in the items' order. */
export type BatchApplier<I, O> = (items: readonly I[]) => Promise<O[]>;

interface Pending<I, O> {
  item: I;
  resolve(outcome: O): void;
  reject(error: unknown): void;
}

/**
 * Group commit: the writes asked for in one turn of the event loop, or while the batch before
 * them is being applied, go into one transaction. Many small transactions each pay their BEGIN,
 * COMMIT and round trips (and on SQLite a sync of the log); a batch pays them once.
 *
 * A lone item is applied by `applyOne`, as without grouping. When a batch fails, every item in it
 * is applied again by `applyOne`, each in its own transaction, so one bad item (a row not found)
 * fails only its own call. A batch whose COMMIT went through but whose answer was lost is applied
 * again too, so `applyOne` must recognise an item already applied (an inbox does). One batch runs
 * at a time, at most `maxBatch` items.
 */
export function groupCommit<I, O>(applyBatch: BatchApplier<I, O>, applyOne: (item: I) => Promise<O>, maxBatch = 64): (item: I) => Promise<O> {
  let queue: Pending<I, O>[] = [];
  let busy = false;

  const applyAlone = (entry: Pending<I, O>) => applyOne(entry.item).then(entry.resolve, entry.reject);

  const flush = async () => {
    try {
      await drain();
    } finally {
      busy = false;
      // Calls made while the last outcomes were being handed out found the group busy.
      if (queue.length > 0) schedule();
    }
  };

  const schedule = () => {
    busy = true;
    // The calls made in this turn of the event loop join the first batch.
    setImmediate(() => void flush());
  };

  const drain = async () => {
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      if (batch.length === 1) {
        await applyAlone(batch[0]!);
        continue;
      }
      let outcomes: O[];
      try {
        outcomes = await applyBatch(batch.map((entry) => entry.item));
      } catch {
        // The batch's transaction rolled back (or, rarely, committed unseen): each item again, alone.
        await Promise.all(batch.map(applyAlone));
        continue;
      }
      if (outcomes.length !== batch.length) {
        const error = new Error(`group commit: the batch applier answered ${outcomes.length} outcomes for ${batch.length} items`);
        batch.forEach((entry) => entry.reject(error));
      } else batch.forEach((entry, i) => entry.resolve(outcomes[i]!));
    }
  };

  return (item) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (!busy) schedule();
    });
}
