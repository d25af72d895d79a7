/** Exponential backoff between attempts to reach the registry. */
export interface BackoffOptions {
  /** Delay before the first retry, in ms. */
  initialMs: number;
  /** Ceiling of the delay, in ms. */
  maxMs: number;
  /** Source of jitter in [0, 1). Default Math.random. */
  random?: () => number;
}

/**
 * Delay before retry number `attempt` (1-based): `initialMs` doubling up to `maxMs`, with "equal
 * jitter": uniform in [d/2, d]. Half the delay is kept so that many clients that lost the registry
 * at once neither retry in lockstep nor in a tight loop.
 */
export function reconnectDelayMs(attempt: number, options: BackoffOptions): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.max(0, attempt - 1));
  const random = options.random ?? Math.random;
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
