import { constants, PerformanceObserver } from 'node:perf_hooks';
import type { GcPauses } from './registry-messages';

/**
 * Counts this process's garbage-collection pauses (perf_hooks 'gc' entries) from one take() to
 * the next, with the full (mark-compact) collections apart: a long stall from one of those says
 * objects are reaching the old space, where young-generation pauses say only how much is allocated.
 */
export class GcPauseMeter {
  private pauses = 0;
  private totalMs = 0;
  private maxMs = 0;
  private fullPauses = 0;
  private fullMaxMs = 0;

  constructor() {
    new PerformanceObserver((entries) => {
      for (const entry of entries.getEntries()) {
        this.pauses += 1;
        this.totalMs += entry.duration;
        this.maxMs = Math.max(this.maxMs, entry.duration);
        if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
          this.fullPauses += 1;
          this.fullMaxMs = Math.max(this.fullMaxMs, entry.duration);
        }
      }
    }).observe({ entryTypes: ['gc'] });
  }

  /** The pauses since the last take() (or since the meter started), and starts counting afresh. */
  take(): GcPauses {
    const tenths = (ms: number) => Math.round(ms * 10) / 10;
    const taken = {
      gcPauses: this.pauses,
      gcPauseTotalMs: Math.round(this.totalMs),
      gcPauseMaxMs: tenths(this.maxMs),
      fullGcPauses: this.fullPauses,
      fullGcPauseMaxMs: tenths(this.fullMaxMs),
    };
    this.pauses = this.totalMs = this.maxMs = this.fullPauses = this.fullMaxMs = 0;
    return taken;
  }
}
