export interface RetryThrottleOptions {
  /** Size of the bucket, which starts full; gRFC A6 allows (0, 1000]. A6's example: 10. */
  maxTokens: number;
  /** Tokens an OK attempt puts back; > 0, three decimals kept. A6's example: 0.1. */
  tokenRatio: number;
}

/**
 * Throttling every client gets unless RETRY_POLICY says otherwise. A6's example bucket (10) is
 * drained by the few calls in flight to an instance that dies under load, failing calls a retry
 * would have saved; 100 tolerates such bursts, and still stops retries once failures outnumber
 * successes ten to one for a while (tokenRatio 0.1), so a sick target is not hammered.
 */
export const DEFAULT_RETRY_THROTTLING: RetryThrottleOptions = Object.freeze({ maxTokens: 100, tokenRatio: 0.1 });

/**
 * gRFC A6 retry throttling: one token bucket per channel target, shared by every method of every
 * client on it. An attempt that fails with a retryable (or non-fatal hedging) code takes a token,
 * an OK attempt gives back `tokenRatio`; retries and further hedges go out only while more than
 * half the bucket is left. So when a target is failing for everyone, clients stop multiplying
 * its load by maxAttempts, and start retrying again once calls succeed.
 */
export class RetryThrottle {
  // Kept in thousandths, as A6 specifies three decimals, so repeated additions do not drift.
  private readonly max: number;
  private readonly ratio: number;
  private milliTokens: number;

  constructor({ maxTokens, tokenRatio }: RetryThrottleOptions) {
    if (!(maxTokens > 0 && maxTokens <= 1000)) throw new RangeError(`retry throttle: maxTokens must be in (0, 1000], got ${maxTokens}`);
    if (!(tokenRatio > 0)) throw new RangeError(`retry throttle: tokenRatio must be > 0, got ${tokenRatio}`);
    this.max = Math.round(maxTokens * 1000);
    this.ratio = Math.max(1, Math.round(tokenRatio * 1000));
    this.milliTokens = this.max;
  }

  /** Tokens left now. */
  get tokens(): number {
    return this.milliTokens / 1000;
  }

  /** Whether a retry or a further hedged attempt may be sent: more than maxTokens / 2 left. */
  allowsRetry(): boolean {
    return this.milliTokens * 2 > this.max;
  }

  /** An attempt ended with a retryable (or non-fatal) status. */
  recordFailure(): void {
    this.milliTokens = Math.max(0, this.milliTokens - 1000);
  }

  /** An attempt ended OK. */
  recordSuccess(): void {
    this.milliTokens = Math.min(this.max, this.milliTokens + this.ratio);
  }
}
