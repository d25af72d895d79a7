import { status as Status } from '@grpc/grpc-js';
import { parseMethodPath } from '../telemetry/rpc-attributes';

/** gRFC A6: "maxAttempts values greater than 5 are treated as 5", for retries and hedging alike. */
export const MAX_ATTEMPTS_CAP = 5;

/** How one method retries (gRFC A6 retryPolicy, durations in ms). */
export interface MethodRetryPolicy {
  /** Attempts in all, the first included; capped at 5. 1 turns retries off. Default 3. */
  maxAttempts: number;
  /** Upper bound of the first backoff. Default 100 ms. */
  initialBackoffMs: number;
  /** Upper bound of any backoff. Default 2000 ms. */
  maxBackoffMs: number;
  /** Growth of the backoff bound per retry. Default 2. */
  backoffMultiplier: number;
  /** Status codes worth another attempt. Default UNAVAILABLE only. */
  retryableCodes: ReadonlySet<Status>;
}

/**
 * Hedging (gRFC A6 hedgingPolicy): the first attempt goes out at once, another every
 * `hedgingDelayMs` while none has answered, up to `maxAttempts` in flight. The first OK (or
 * fatal status) wins and the others are cancelled. A method that hedges does not also retry.
 */
export interface HedgingPolicy {
  /** Attempts in all, the first included; capped at 5. */
  maxAttempts: number;
  /** Wait before sending each further attempt. 0 sends them all at once. */
  hedgingDelayMs: number;
  /** Statuses that send the next attempt at once instead of ending the call; any other status ends it. */
  nonFatalCodes: ReadonlySet<Status>;
}

/** Fields a default, service or method entry sets; unset fields come from the less specific entry. */
export interface MethodPolicyOverride extends Partial<MethodRetryPolicy> {
  /** Hedge instead of retrying; `false` turns off hedging set by a less specific entry. */
  hedging?: HedgingPolicy | false;
}

/**
 * Service-config style policy table. The most specific entry wins field by field:
 * `methods['/pkg.Service/Method']`, then `services['pkg.Service']`, then `default`.
 */
export interface RetryPolicyTable {
  default?: MethodPolicyOverride;
  /** Keyed by full service name, e.g. `switchyard.user.v1.UserService`. */
  services?: Readonly<Record<string, MethodPolicyOverride>>;
  /** Keyed by full method path, e.g. `/switchyard.user.v1.UserService/GetUser`. */
  methods?: Readonly<Record<string, MethodPolicyOverride>>;
}

/** The policy one method follows once the table is applied. */
export interface ResolvedMethodPolicy {
  retry: MethodRetryPolicy;
  hedging: HedgingPolicy | undefined;
}

export const DEFAULT_METHOD_RETRY_POLICY: MethodRetryPolicy = Object.freeze({
  maxAttempts: 3,
  initialBackoffMs: 100,
  maxBackoffMs: 2000,
  backoffMultiplier: 2,
  retryableCodes: new Set([Status.UNAVAILABLE]),
});

function defined<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Applies `table` to `path` over `base`, and caps both maxAttempts at 5. */
export function resolveMethodPolicy(base: MethodRetryPolicy, table: RetryPolicyTable, path: string): ResolvedMethodPolicy {
  const { service } = parseMethodPath(path);
  const entries = [table.default, table.services?.[service], table.methods?.[path]];
  const merged: MethodRetryPolicy = Object.assign({}, base, ...entries.map((entry) => defined(entry)));
  const retry: MethodRetryPolicy = {
    maxAttempts: Math.min(merged.maxAttempts, MAX_ATTEMPTS_CAP),
    initialBackoffMs: merged.initialBackoffMs,
    maxBackoffMs: merged.maxBackoffMs,
    backoffMultiplier: merged.backoffMultiplier,
    retryableCodes: merged.retryableCodes,
  };
  let hedging: HedgingPolicy | undefined;
  for (const entry of entries) if (entry?.hedging !== undefined) hedging = entry.hedging || undefined;
  return {
    retry,
    hedging: hedging && { ...hedging, maxAttempts: Math.min(hedging.maxAttempts, MAX_ATTEMPTS_CAP) },
  };
}

/**
 * Full jitter (AWS architecture blog, and gRFC A6): uniform in
 * [0, min(maxBackoff, initialBackoff * multiplier^(n-1))] for retry number n (1-based).
 */
export function backoffDelayMs(policy: MethodRetryPolicy & { random: () => number }, retryNumber: number): number {
  const bound = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * policy.backoffMultiplier ** (retryNumber - 1));
  return Math.floor(policy.random() * bound);
}
