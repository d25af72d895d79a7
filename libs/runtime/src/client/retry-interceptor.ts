import { InterceptingCall, type Deadline, type Interceptor } from '@grpc/grpc-js';
import { context } from '@opentelemetry/api';
import { HedgingCall } from './hedging-call';
import type { CallSetup } from './multi-attempt-call';
import { RetryingCall, type RetryingCallPolicy } from './retrying-call';
import { DEFAULT_METHOD_RETRY_POLICY, resolveMethodPolicy, type ResolvedMethodPolicy, type RetryPolicyTable } from './retry-policy';
import type { RetryThrottle } from './retry-throttle';

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
}

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
  const { policies = {}, throttle, mayHedge = () => true, ...overrides } = options;
  const definedOverrides = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
  const base: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...definedOverrides };
  const resolved = new Map<string, ResolvedMethodPolicy>();
  const policyFor = (path: string) => {
    let policy = resolved.get(path);
    if (!policy) resolved.set(path, (policy = resolveMethodPolicy(base, policies, path)));
    return policy;
  };

  return (callOptions, nextCall) => {
    const { path, requestStream, responseStream } = callOptions.method_definition;
    if (requestStream || responseStream) return new InterceptingCall(nextCall(callOptions));
    const setup: CallSetup = {
      options: callOptions,
      nextCall,
      path,
      // The tracing interceptor creates this one inside the call span's context: keep it for
      // attempts that start later, from timers.
      callContext: context.active(),
      deadline: deadlineMillis(callOptions.deadline),
      throttle,
    };
    const policy = policyFor(path);
    if (policy.hedging && mayHedge(path)) return new InterceptingCall(new HedgingCall(setup, policy.hedging));
    return new InterceptingCall(new RetryingCall(setup, { ...policy.retry, mayRetry: base.mayRetry, random: base.random }));
  };
}
