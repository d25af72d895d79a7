import type { Clock } from './clock';

interface Scheduled {
  at: number;
  order: number;
  callback: () => void;
}

/**
 * A clock for tests that moves only when told to: advance() fires, in time order, every callback
 * that falls due, each with now() at its own due time.
 */
export class ManualClock implements Clock {
  private current: number;
  private scheduledCount = 0;
  private readonly scheduled = new Set<Scheduled>();

  constructor(start = 1_000_000) {
    this.current = start;
  }

  readonly now = (): number => this.current;

  schedule(ms: number, callback: () => void): () => void {
    const entry: Scheduled = { at: this.current + Math.max(0, ms), order: this.scheduledCount++, callback };
    this.scheduled.add(entry);
    return () => void this.scheduled.delete(entry);
  }

  /** Callbacks scheduled and not yet fired or cancelled. */
  pending(): number {
    return this.scheduled.size;
  }

  /** Moves time forward by `ms`, firing what falls due on the way (callbacks may schedule more). */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let next: Scheduled | undefined;
      for (const entry of this.scheduled) {
        if (entry.at <= target && (!next || entry.at < next.at || (entry.at === next.at && entry.order < next.order))) next = entry;
      }
      if (!next) break;
      this.scheduled.delete(next);
      this.current = Math.max(this.current, next.at);
      next.callback();
    }
    this.current = target;
  }
}
