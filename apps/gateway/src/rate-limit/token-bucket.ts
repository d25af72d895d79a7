/** What one take from a bucket decided. */
export interface BucketDecision {
  allowed: boolean;
  /** Whole tokens left after this take. */
  remaining: number;
  /** Seconds until the next token (0 when one is left). */
  retryAfterSeconds: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
}

/** Token buckets by key, held in memory or in a store shared by several gateways. */
export interface TokenBuckets {
  /** Takes one token from `key`'s bucket (created full). Rejects when the store cannot answer. */
  take(key: string, rate: number, burst: number): Promise<BucketDecision>;
  close(): Promise<void>;
}

/** The decision for a bucket holding `tokens` (fractional) after the take was tried. */
export function decision(allowed: boolean, tokens: number, rate: number, burst: number): BucketDecision {
  return {
    allowed,
    remaining: Math.floor(tokens),
    retryAfterSeconds: tokens >= 1 ? 0 : Math.ceil((1 - tokens) / rate),
    resetSeconds: Math.ceil((burst - tokens) / rate),
  };
}
