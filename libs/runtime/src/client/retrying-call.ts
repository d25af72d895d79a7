import { status as Status } from '@grpc/grpc-js';
import type { Attributes } from '@opentelemetry/api';
import { GRPC_ATTEMPT_BACKOFF_MS, GRPC_ATTEMPT_HEDGED, GRPC_ATTEMPT_PUSHBACK_MS } from './attempt-span';
import type { BackupBudget } from './backup-budget';
import type { BackupDelay } from './backup-delay';
import { MultiAttemptCall, type Attempt, type AttemptResult, type CallSetup } from './multi-attempt-call';
import { backoffDelayMs, type MethodRetryPolicy } from './retry-policy';
import { serverPushback } from './retry-pushback';

/** Backup attempts of one method: its learned delay, and the budget of the target it calls. */
export interface BackupAttempts {
  delay: BackupDelay;
  budget: BackupBudget;
}

export interface RetryingCallPolicy extends MethodRetryPolicy {
  mayRetry: (path: string, request: unknown) => boolean;
  random: () => number;
  /** Set only for methods safe to run twice at the same time (the protos' idempotency level). */
  backup?: BackupAttempts;
}

// The first attempt's span attributes, the same on every call (read, never changed).
const FIRST_ATTEMPT: Attributes = Object.freeze({ [GRPC_ATTEMPT_BACKOFF_MS]: 0 });

/**
 * gRFC A6 retries of one unary call: after an attempt fails with a retryable code, another one
 * starts after a full-jitter exponential backoff, or after exactly the server's pushback, unless
 * the attempts are spent, the method may not be repeated, the target's throttle is below half,
 * the server's pushback says stop, or the attempt could not start before the deadline.
 *
 * With `backup`, an attempt still unanswered after the method's learned delay gets a backup
 * attempt beside it (Finagle's backup requests): a hung instance never answers nor fails, so
 * neither a retry nor keepalive would help the call before its deadline. The first answer wins
 * and the other attempt is cancelled. Backups count towards maxAttempts and need the target's
 * budget and throttle.
 */
export class RetryingCall extends MultiAttemptCall {
  // Retry number the next computed backoff is for; a server pushback starts the sequence again.
  private backoffStep = 1;
  private backupTimer: NodeJS.Timeout | undefined;

  constructor(
    setup: CallSetup,
    private readonly policy: RetryingCallPolicy,
  ) {
    super(setup);
  }

  protected onStart(): void {
    this.policy.backup?.budget.recordCall();
    this.launch(FIRST_ATTEMPT);
  }

  protected onAttemptDone(attempt: Attempt, result: AttemptResult): void {
    const { throttle, path } = this.setup;
    const retryable = this.policy.retryableCodes.has(result.status.code);
    if (retryable) throttle?.recordFailure();
    else if (result.status.code === Status.OK) {
      throttle?.recordSuccess();
      this.policy.backup?.delay.record(performance.now() - attempt.startedAt);
    }
    if (!retryable) return this.finish(result, attempt);
    // A backup is still running and may yet answer.
    if (this.inFlight.size > 0) return;
    if (this.attemptsStarted >= this.policy.maxAttempts || !this.policy.mayRetry(path, this.request)) return this.finish(result);
    if (throttle && !throttle.allowsRetry()) return this.finish(result);
    const pushback = serverPushback(result.status.metadata);
    if (pushback === 'stop') return this.finish(result);
    const delay = pushback ?? backoffDelayMs(this.policy, this.backoffStep);
    if (!this.startsBeforeDeadline(delay)) return this.finish(result);
    this.backoffStep = pushback === undefined ? this.backoffStep + 1 : 1;
    const attributes = pushback === undefined ? { [GRPC_ATTEMPT_BACKOFF_MS]: delay } : { [GRPC_ATTEMPT_BACKOFF_MS]: delay, [GRPC_ATTEMPT_PUSHBACK_MS]: pushback };
    // The retry starts its own wait for a backup.
    this.cancelTimer(this.backupTimer);
    this.backupTimer = undefined;
    this.after(delay, () => this.launch(attributes));
  }

  private launch(attributes: Attributes): void {
    this.startAttempt(attributes);
    this.scheduleBackup();
  }

  private scheduleBackup(): void {
    const backup = this.policy.backup;
    if (!backup || this.backupTimer || this.attemptsStarted >= this.policy.maxAttempts) return;
    const delay = backup.delay.currentMs;
    if (delay === undefined || !this.startsBeforeDeadline(delay)) return;
    this.backupTimer = this.after(delay, () => {
      this.backupTimer = undefined;
      const { throttle } = this.setup;
      if (this.inFlight.size === 0 || this.attemptsStarted >= this.policy.maxAttempts) return;
      if ((throttle && !throttle.allowsRetry()) || !backup.budget.trySpend()) return;
      this.launch({ [GRPC_ATTEMPT_HEDGED]: true, [GRPC_ATTEMPT_BACKOFF_MS]: delay });
    });
  }
}
