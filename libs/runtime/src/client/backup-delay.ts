export interface BackupDelayOptions {
  /** Share of answers slower than the delay: 0.99 sends a backup once an attempt is slower than 99% of recent answers. Default 0.99. */
  quantile: number;
  /** Answers remembered per method; the delay follows the latest ones. Default 256. */
  window: number;
  /**
   * Answers needed before the delay is known; until then no backups are sent (the first calls
   * also pay for connecting, and a guess would send backups for that). Default 20.
   */
  minSamples: number;
  /** Never sooner: below it a backup races jitter, not a stalled instance. Default 10 ms. */
  minDelayMs: number;
  /** Never later. Default 1000 ms. */
  maxDelayMs: number;
}

export const DEFAULT_BACKUP_DELAY: BackupDelayOptions = Object.freeze({
  quantile: 0.99,
  window: 256,
  minSamples: 20,
  minDelayMs: 10,
  maxDelayMs: 1000,
});

// The quantile is worked out again after this many new answers, not on every one.
const RECOMPUTE_EVERY = 16;

/**
 * How long one method's attempt may run before a backup attempt is sent: a high quantile of the
 * latencies of its recent OK answers, so only the slowest calls ("The Tail at Scale") get one.
 * Attempts that never answer (a hung instance) add nothing, so a hang does not stretch the delay.
 */
export class BackupDelay {
  private readonly options: BackupDelayOptions;
  private readonly samples: Float64Array;
  // Where the window is copied to be reordered when the quantile is worked out.
  private readonly scratch: Float64Array;
  private count = 0;
  private sinceRecompute = 0;
  private delay: number | undefined;

  constructor(options: Partial<BackupDelayOptions> = {}) {
    this.options = { ...DEFAULT_BACKUP_DELAY, ...options };
    this.samples = new Float64Array(this.options.window);
    this.scratch = new Float64Array(this.options.window);
  }

  /** The delay now, in ms; undefined until minSamples answers are known. */
  get currentMs(): number | undefined {
    return this.delay;
  }

  /** An attempt answered OK `latencyMs` after it started. */
  record(latencyMs: number): void {
    this.samples[this.count % this.samples.length] = latencyMs;
    this.count += 1;
    this.sinceRecompute += 1;
    if (this.count < this.options.minSamples || (this.sinceRecompute < RECOMPUTE_EVERY && this.count !== this.options.minSamples)) return;
    this.sinceRecompute = 0;
    const known = this.scratch.subarray(0, Math.min(this.count, this.samples.length));
    known.set(this.samples.subarray(0, known.length));
    const value = selectNth(known, Math.min(known.length - 1, Math.floor(this.options.quantile * known.length)));
    this.delay = Math.min(this.options.maxDelayMs, Math.max(this.options.minDelayMs, Math.ceil(value)));
  }
}

/**
 * The value that would be at index `n` of `values` sorted, found in linear time on average
 * (Hoare's selection), reordering `values`. A full sort of the window on every recompute cost a
 * client about 1 us per call.
 */
export function selectNth(values: Float64Array, n: number): number {
  let low = 0;
  let high = values.length - 1;
  while (low < high) {
    const pivot = values[(low + high) >>> 1]!;
    let i = low;
    let j = high;
    while (i <= j) {
      while (values[i]! < pivot) i += 1;
      while (values[j]! > pivot) j -= 1;
      if (i <= j) {
        const swap = values[i]!;
        values[i] = values[j]!;
        values[j] = swap;
        i += 1;
        j -= 1;
      }
    }
    if (n <= j) high = j;
    else if (n >= i) low = i;
    else break;
  }
  return values[n]!;
}
