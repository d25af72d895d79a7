import { Metadata, status as Status } from '@grpc/grpc-js';
import { statusError, type CallContext, type Logger, type ServerMiddleware } from '@switchyard/runtime';
import { SUBJECT_METADATA } from '../auth/identity-metadata';
import { ruleFor, type RateLimitRules } from './rate-limit-rules';
import type { BucketDecision, TokenBuckets } from './token-bucket';

export type StoreFailureMode = 'open' | 'closed';

export interface RateLimitOptions {
  /** The rules in force now (they may be reloaded); undefined: no limits. */
  rules: () => RateLimitRules | undefined;
  buckets: TokenBuckets;
  /** The client's address (client-address.ts). */
  addressOf: (call: CallContext) => string;
  /** When the bucket store fails: "open" admits the call, "closed" answers UNAVAILABLE. */
  onStoreFailure: StoreFailureMode;
  logger: Logger;
  /** At most one warning per this many ms while the store fails; each says how many checks failed. Default 10000. */
  failureLogIntervalMs?: number;
}

function overLimit(name: string, rule: { rate: number; burst: number }, kind: string, taken: BucketDecision) {
  const metadata = new Metadata();
  metadata.set('retry-after', String(Math.max(1, taken.retryAfterSeconds)));
  metadata.set('ratelimit-limit', String(rule.burst));
  metadata.set('ratelimit-remaining', String(taken.remaining));
  metadata.set('ratelimit-reset', String(taken.resetSeconds));
  const error = statusError(Status.RESOURCE_EXHAUSTED, `rate limit "${name}" exceeded: ${rule.rate} calls per second, bursts of ${rule.burst}, per ${kind}; retry in ${Math.max(1, taken.retryAfterSeconds)}s`, metadata);
  return { code: error.code, error };
}

/**
 * A token bucket per client and method: the method's own rule, or the default one. The client is
 * the verified subject (for rules `by: "subject"`, when auth set one) or its address. Over the
 * limit the handler never runs, and the caller gets RESOURCE_EXHAUSTED naming the rule and the
 * key kind (never the key) with `retry-after` and `ratelimit-*` values as trailing metadata,
 * which the HTTP face turns into the headers of its 429. Runs after auth, which sets the subject.
 */
export function rateLimitMiddleware(options: RateLimitOptions): ServerMiddleware {
  const { buckets, logger } = options;
  const failureLogIntervalMs = options.failureLogIntervalMs ?? 10_000;
  let failures = 0;
  let lastWarning = -Infinity;
  const storeFailed = (error: unknown) => {
    failures += 1;
    const now = performance.now();
    if (now - lastWarning < failureLogIntervalMs) return;
    lastWarning = now;
    logger.warn(
      { err: error, failed_checks: failures, on_failure: options.onStoreFailure },
      options.onStoreFailure === 'open' ? 'rate limit store unavailable; admitting calls unchecked' : 'rate limit store unavailable; refusing calls',
    );
  };

  return async (call, next) => {
    const rules = options.rules();
    const found = rules && ruleFor(rules, call.method);
    if (!found) return next();
    const { name, rule } = found;
    const [subject] = rule.by === 'subject' ? call.metadata.get(SUBJECT_METADATA) : [];
    const [kind, id] = typeof subject === 'string' && subject !== '' ? ['subject', subject] : ['address', options.addressOf(call)];
    let taken: BucketDecision;
    try {
      taken = await buckets.take(`${call.method}|${kind}:${id}`, rule.rate, rule.burst);
    } catch (error) {
      storeFailed(error);
      if (options.onStoreFailure === 'open') return next();
      const unavailable = statusError(Status.UNAVAILABLE, 'rate limits cannot be checked right now; retry later');
      return { code: unavailable.code, error: unavailable };
    }
    return taken.allowed ? next() : overLimit(name, rule, kind, taken);
  };
}
