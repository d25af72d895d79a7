import { decision, type TokenBuckets } from './token-bucket';

interface Bucket {
  tokens: number;
  /** ms (performance.now()) of the last refill. */
  at: number;
  /** The rule it was last taken under, to tell when it is full again. */
  rate: number;
  burst: number;
}

export interface MemoryBucketsOptions {
  /** Most buckets held; at it, full buckets are dropped (a full bucket is the same as none), then the oldest down to 90%. Default 100000. */
  maxBuckets?: number;
  /** Milliseconds clock. Default performance.now. */
  now?: () => number;
}

/** Token buckets in this process: exact and cheap, but each gateway replica counts on its own. */
export function memoryTokenBuckets(options: MemoryBucketsOptions = {}): TokenBuckets {
  const maxBuckets = options.maxBuckets ?? 100_000;
  const now = options.now ?? (() => performance.now());
  const buckets = new Map<string, Bucket>();
  const refill = (bucket: Bucket, at: number, rate: number, burst: number) => {
    bucket.tokens = Math.min(burst, bucket.tokens + ((at - bucket.at) * rate) / 1000);
    bucket.at = at;
  };
  // Every client address a caller can make up would otherwise stay here for ever.
  const makeRoom = (at: number) => {
    for (const [key, bucket] of buckets) {
      if (bucket.tokens + ((at - bucket.at) * bucket.rate) / 1000 >= bucket.burst) buckets.delete(key);
    }
    // A tenth at a time, so that a flood of new keys costs one sweep per many calls, not one each.
    const target = Math.floor(maxBuckets * 0.9);
    for (const key of buckets.keys()) {
      if (buckets.size <= target) break;
      buckets.delete(key);
    }
  };
  return {
    take: (key, rate, burst) => {
      const at = now();
      let bucket = buckets.get(key);
      if (!bucket) {
        if (buckets.size >= maxBuckets) makeRoom(at);
        buckets.set(key, (bucket = { tokens: burst, at, rate, burst }));
      } else {
        refill(bucket, at, rate, burst);
        bucket.rate = rate;
        bucket.burst = burst;
      }
      const allowed = bucket.tokens >= 1;
      if (allowed) bucket.tokens -= 1;
      return Promise.resolve(decision(allowed, bucket.tokens, rate, burst));
    },
    close: async () => buckets.clear(),
  };
}
