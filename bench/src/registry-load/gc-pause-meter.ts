import { PerformanceObserver } from 'node:perf_hooks';
import type { GcPauses } from './registry-messages';

/** Counts this process's garbage-collection pauses (perf_hooks 'gc' entries) from one take() to the next. */
export class GcPauseMeter {
  private pauses = 0;
  private totalMs = 0;
  private maxMs = 0;

  constructor() {
    new PerformanceObserver((entries) => {
      for (const { duration } of entries.getEntries()) {
        this.pauses += 1;
        this.totalMs += duration;
        this.maxMs = Math.max(this.maxMs, duration);
      }
    }).observe({ entryTypes: ['gc'] });
  }

  /** The pauses since the last take() (or since the meter started), and starts counting afresh. */
  take(): GcPauses {
    const taken = { gcPauses: this.pauses, gcPauseTotalMs: Math.round(this.totalMs), gcPauseMaxMs: Math.round(this.maxMs * 10) / 10 };
    this.pauses = 0;
    this.totalMs = 0;
    this.maxMs = 0;
    return taken;
  }
}
