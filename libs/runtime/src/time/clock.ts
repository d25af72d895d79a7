/**
 * Time as seen by code that waits: the system's by default; in tests a manual one
 * (`ManualClock` in @switchyard/runtime/testing), so a test says "this much time has passed"
 * instead of racing real timers on a machine of unknown speed.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Calls `callback` once `ms` have passed; the function returned cancels it. The timer never
   * keeps the process alive on its own.
   */
  schedule(ms: number, callback: () => void): () => void;
}

export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  schedule(ms: number, callback: () => void): () => void {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
});
