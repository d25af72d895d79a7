import { status as Status } from '@grpc/grpc-js';
import { isStatusError, statusError, type StatusError } from '@switchyard/runtime';
import type { Logger } from 'pino';

export interface CircuitBreakerOptions {
  /** The upstream service, named in the error a rejected call gets and in the log. */
  upstream: string;
  /** Consecutive "down or hung" failures that open the breaker. Default DEFAULT_BREAKER.failures. */
  failures?: number;
  /** How long the breaker stays open before it lets one probe through. Default DEFAULT_BREAKER.openMs. */
  openMs?: number;
  /**
   * A DEADLINE_EXCEEDED counts only for a call that waited at least this long: a caller's own
   * tight deadline says nothing about the upstream and must not open the breaker for everyone.
   * Default DEFAULT_BREAKER.hungAfterMs.
   */
  hungAfterMs?: number;
  logger: Logger;
  /** Told of every change of state (e.g. the breaker-state gauge). An open breaker turns half-open when the next call comes. */
  onStateChange?: (state: BreakerState) => void;
  /** Clock in milliseconds; tests may pass their own. Default performance.now. */
  now?: () => number;
}

export const DEFAULT_BREAKER = Object.freeze({ failures: 5, openMs: 5_000, hungAfterMs: 1_000 });

export type BreakerState = 'closed' | 'open' | 'half-open';

// Errors this breaker made itself; the edge shows their message (it names the upstream only).
const rejections = new WeakSet<Error>();

/** True for the UNAVAILABLE a breaker answers with while open; its message is safe to show. */
export function isBreakerRejection(error: unknown): error is StatusError {
  return error instanceof Error && rejections.has(error);
}

/**
 * A breaker for one upstream service, wrapped around whole calls: outside the client's retries,
 * backup attempts and outlier ejection, so it sees one outcome per call and opens only when
 * those could not find a working instance. Closed: calls pass; a run of `failures` calls that
 * ended UNAVAILABLE or DEADLINE_EXCEEDED (after `hungAfterMs`) opens it. Open: calls fail at once
 * with UNAVAILABLE, costing the upstream nothing. After `openMs` one call goes through as a
 * probe (half-open) while the rest still fail at once; its success closes the breaker, a
 * failure opens it again. Any answer from the upstream, NOT_FOUND included, is a success: the
 * service is up.
 */
export class CircuitBreaker {
  private readonly failuresToOpen: number;
  private readonly openMs: number;
  private readonly hungAfterMs: number;
  private readonly now: () => number;
  private currentState: BreakerState = 'closed';
  private consecutiveFailures = 0;
  private openedAt = 0;
  private probing = false;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.failuresToOpen = options.failures ?? DEFAULT_BREAKER.failures;
    this.openMs = options.openMs ?? DEFAULT_BREAKER.openMs;
    this.hungAfterMs = options.hungAfterMs ?? DEFAULT_BREAKER.hungAfterMs;
    this.now = options.now ?? (() => performance.now());
  }

  get state(): BreakerState {
    return this.currentState;
  }

  /** Runs `call` if the breaker lets it through, and learns from how it ends. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    const isProbe = this.admit();
    const started = this.now();
    let outcome: 'success' | 'failure' | 'neither' = 'neither';
    try {
      const result = await call();
      outcome = 'success';
      return result;
    } catch (error) {
      outcome = this.classify(error, this.now() - started);
      throw error;
    } finally {
      if (isProbe) this.probing = false;
      if (outcome === 'success') this.onSuccess();
      else if (outcome === 'failure') this.onFailure();
    }
  }

  /** Throws the rejection if the call may not go; returns whether it is the half-open probe. */
  private admit(): boolean {
    if (this.currentState === 'open' && this.now() - this.openedAt >= this.openMs) this.transition('half-open');
    if (this.currentState === 'closed') return false;
    if (this.currentState === 'half-open' && !this.probing) {
      this.probing = true;
      return true;
    }
    const error = statusError(Status.UNAVAILABLE, `${this.options.upstream} is unavailable (circuit breaker open); retry later`);
    rejections.add(error);
    throw error;
  }

  private classify(error: unknown, elapsedMs: number): 'success' | 'failure' | 'neither' {
    if (!isStatusError(error)) return 'neither';
    if (error.code === Status.UNAVAILABLE) return 'failure';
    if (error.code === Status.DEADLINE_EXCEEDED) return elapsedMs >= this.hungAfterMs ? 'failure' : 'neither';
    // The caller went away, or the gateway failed the call itself: nothing learned of the upstream.
    if (error.code === Status.CANCELLED || error.code === Status.INTERNAL || error.code === Status.UNKNOWN) return 'neither';
    return 'success';
  }

  private onSuccess(): void {
    this.consecutiveFailures = 0;
    if (this.currentState !== 'closed') this.transition('closed');
  }

  private onFailure(): void {
    if (this.currentState === 'open') return;
    this.consecutiveFailures += 1;
    if (this.currentState === 'half-open' || this.consecutiveFailures >= this.failuresToOpen) {
      this.openedAt = this.now();
      this.transition('open');
    }
  }

  private transition(next: BreakerState): void {
    const previous = this.currentState;
    this.currentState = next;
    this.options.onStateChange?.(next);
    const fields = { upstream: this.options.upstream, breaker: next, previous };
    if (next === 'open') {
      this.options.logger.warn({ ...fields, consecutiveFailures: this.consecutiveFailures, openMs: this.openMs }, `circuit breaker for ${this.options.upstream} opened: calls fail at once for ${this.openMs} ms`);
    } else if (next === 'half-open') {
      this.options.logger.info(fields, `circuit breaker for ${this.options.upstream} half-open: one probe call goes through`);
    } else {
      this.options.logger.info(fields, `circuit breaker for ${this.options.upstream} closed: calls go through again`);
    }
  }
}
