import type { Deadline, Interceptor } from '@grpc/grpc-js';
import { context } from '@opentelemetry/api';
import type { BackupBudget } from './backup-budget';
import { BackupDelay, type BackupDelayOptions } from './backup-delay';
import { asInterceptorResult } from './forwarding-call';
import { HedgingCall } from './hedging-call';
import type { CallSetup } from './multi-attempt-call';
import { RetryingCall, type RetryingCallPolicy } from './retrying-call';
import { DEFAULT_METHOD_RETRY_POLICY, resolveMethodPolicy, type HedgingPolicy, type RetryPolicyTable } from './retry-policy';
import type { RetryThrottle } from './retry-throttle';
import type { StreamResetPacing } from './stream-reset-pacing';

export { backoffDelayMs } from './retry-policy';

/** The retry policy of every method, unless `policies` overrides it for some. */
export interface RetryPolicy extends RetryingCallPolicy {
  /**
   * Whether this method with this request may be sent twice. Default: always. The client factory
   * narrows it to methods the protos mark idempotent and requests that carry an idempotency key.
   */
  mayRetry: (path: string, request: unknown) => boolean;
  /** Source of randomness for jitter, replaceable in tests. Default Math.random. */
  random: () => number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  ...DEFAULT_METHOD_RETRY_POLICY,
  mayRetry: () => true,
  random: Math.random,
};

export interface RetryInterceptorOptions extends Partial<RetryPolicy> {
  /**
   * Overrides by service and by method path over the fields above, and hedging (off unless an
   * entry sets it). Default: none, every method follows the fields above.
   */
  policies?: RetryPolicyTable;
  /** The token bucket of the target these calls go to (gRFC A6 throttling). Default: none, no throttling. */
  throttle?: RetryThrottle;
  /**
   * Whether a method may be hedged: its attempts run at the same time, so it must be safe to
   * repeat concurrently. Default: every method with a hedging policy. The client factory allows
   * only methods the protos mark idempotent (an idempotency key alone is not enough).
   */
  mayHedge?: (path: string) => boolean;
  /**
   * Backup attempts for slow calls of the methods that may be hedged and have no hedging policy
   * (see RetryingCall): a delay learned per method, within the target's budget. Default: none.
   * The client factory turns them on for the methods the protos mark idempotent.
   */
  backups?: { budget: BackupBudget; delay?: Partial<BackupDelayOptions> };
  /** Told of every attempt beyond a call's first (retries, hedges, backups), by method path. */
  onExtraAttempt?: (path: string) => void;
  /**
   * The target's budget of cancels for attempts outrun by another (StreamResetPacing). Default:
   * none, every such attempt is cancelled. The client factory gives each target one.
   */
  resets?: StreamResetPacing;
}

/** How the calls of one method are made: hedged, or retried after failures. */
type MethodCalls = { hedging: HedgingPolicy; retry?: undefined } | { hedging?: undefined; retry: RetryingCallPolicy };

function deadlineMillis(deadline: Deadline | undefined): number {
  if (deadline === undefined) return Infinity;
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

/**
 * gRFC A6 retries (and, where a policy asks, hedging) of unary calls, as an interceptor inside
 * the tracing and deadline ones: each attempt is a child span of the call's span, and no attempt
 * starts that could not start before the call's deadline. Streams pass through untouched: their
 * messages cannot be replayed safely.
 */
export function retryInterceptor(options: RetryInterceptorOptions = {}): Interceptor {
  const { policies = {}, throttle, mayHedge = () => true, backups, onExtraAttempt, resets, ...overrides } = options;
  const definedOverrides = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
  const base: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...definedOverrides };
  // Worked out once per method: what its calls start from.
  const resolved = new Map<string, MethodCalls>();
  const policyFor = (path: string): MethodCalls => {
    let calls = resolved.get(path);
    if (!calls) {
      const policy = resolveMethodPolicy(base, policies, path);
      const hedged = mayHedge(path);
      const backup = backups && hedged ? { budget: backups.budget, delay: new BackupDelay(backups.delay) } : undefined;
      calls = policy.hedging && hedged ? { hedging: policy.hedging } : { retry: { ...policy.retry, mayRetry: base.mayRetry, random: base.random, backup } };
      resolved.set(path, calls);
    }
    return calls;
  };

  return (callOptions, nextCall) => {
    const { path, requestStream, responseStream } = callOptions.method_definition;
    if (requestStream || responseStream) return asInterceptorResult(nextCall(callOptions));
    const setup: CallSetup = {
      options: callOptions,
      nextCall,
      path,
      // The tracing interceptor creates this one inside the call span's context: keep it for
      // attempts that start later, from timers.
      callContext: context.active(),
      deadline: deadlineMillis(callOptions.deadline),
      throttle,
      onExtraAttempt,
      resets,
    };
    const calls = policyFor(path);
    return asInterceptorResult(calls.hedging ? new HedgingCall(setup, calls.hedging) : new RetryingCall(setup, calls.retry));
  };
}
