import { status as Status } from '@grpc/grpc-js';
import { GRPC_ATTEMPT_BACKOFF_MS, GRPC_ATTEMPT_PUSHBACK_MS } from './attempt-span';
import { MultiAttemptCall, type Attempt, type AttemptResult, type CallSetup } from './multi-attempt-call';
import { backoffDelayMs, type MethodRetryPolicy } from './retry-policy';
import { serverPushback } from './retry-pushback';

export interface RetryingCallPolicy extends MethodRetryPolicy {
  mayRetry: (path: string, request: unknown) => boolean;
  random: () => number;
}

/**
 * gRFC A6 retries of one unary call: after an attempt fails with a retryable code, another one
 * starts after a full-jitter exponential backoff, or after exactly the server's pushback, unless
 * the attempts are spent, the method may not be repeated, the target's throttle is below half,
 * the server's pushback says stop, or the attempt could not start before the deadline.
 */
export class RetryingCall extends MultiAttemptCall {
  // Retry number the next computed backoff is for; a server pushback starts the sequence again.
  private backoffStep = 1;

  constructor(
    setup: CallSetup,
    private readonly policy: RetryingCallPolicy,
  ) {
    super(setup);
  }

  protected onStart(): void {
    this.startAttempt({ [GRPC_ATTEMPT_BACKOFF_MS]: 0 });
  }

  protected onAttemptDone(attempt: Attempt, result: AttemptResult): void {
    const { throttle, path } = this.setup;
    const retryable = this.policy.retryableCodes.has(result.status.code);
    if (retryable) throttle?.recordFailure();
    else if (result.status.code === Status.OK) throttle?.recordSuccess();
    if (!retryable || attempt.number >= this.policy.maxAttempts || !this.policy.mayRetry(path, this.request)) return this.finish(result);
    if (throttle && !throttle.allowsRetry()) return this.finish(result);
    const pushback = serverPushback(result.status.metadata);
    if (pushback === 'stop') return this.finish(result);
    const delay = pushback ?? backoffDelayMs(this.policy, this.backoffStep);
    if (!this.startsBeforeDeadline(delay)) return this.finish(result);
    this.backoffStep = pushback === undefined ? this.backoffStep + 1 : 1;
    const attributes = pushback === undefined ? { [GRPC_ATTEMPT_BACKOFF_MS]: delay } : { [GRPC_ATTEMPT_BACKOFF_MS]: delay, [GRPC_ATTEMPT_PUSHBACK_MS]: pushback };
    this.after(delay, () => this.startAttempt(attributes));
  }
}
