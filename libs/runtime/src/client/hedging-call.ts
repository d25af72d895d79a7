import { status as Status } from '@grpc/grpc-js';
import { GRPC_ATTEMPT_BACKOFF_MS, GRPC_ATTEMPT_HEDGED, GRPC_ATTEMPT_PUSHBACK_MS } from './attempt-span';
import { MultiAttemptCall, type Attempt, type AttemptResult, type CallSetup } from './multi-attempt-call';
import type { HedgingPolicy } from './retry-policy';
import { serverPushback } from './retry-pushback';

/**
 * gRFC A6 hedging of one unary call: the first attempt at once, then another every
 * hedgingDelayMs while none has answered, up to maxAttempts. The first OK or fatal status answers
 * the call and cancels the rest. A non-fatal status sends the next attempt at once (or after the
 * server's pushback; a negative or malformed pushback stops new attempts). No attempt starts
 * while the target's throttle is below half or after the deadline. When nothing is left in
 * flight or to come, the last non-fatal status answers the call.
 */
export class HedgingCall extends MultiAttemptCall {
  private nextHedge: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastFailure: AttemptResult | undefined;

  constructor(
    setup: CallSetup,
    private readonly policy: HedgingPolicy,
  ) {
    super(setup);
  }

  protected onStart(): void {
    this.startAttempt({ [GRPC_ATTEMPT_BACKOFF_MS]: 0 });
    this.scheduleHedge(this.policy.hedgingDelayMs);
  }

  protected onAttemptDone(attempt: Attempt, result: AttemptResult): void {
    const { throttle } = this.setup;
    if (!this.policy.nonFatalCodes.has(result.status.code)) {
      if (result.status.code === Status.OK) throttle?.recordSuccess();
      return this.finish(result, attempt);
    }
    throttle?.recordFailure();
    this.lastFailure = result;
    const pushback = serverPushback(result.status.metadata);
    if (pushback === 'stop') {
      this.stopped = true;
      this.cancelTimer(this.nextHedge);
      this.nextHedge = undefined;
    } else {
      this.scheduleHedge(pushback ?? 0, pushback);
    }
    this.finishIfIdle();
  }

  private scheduleHedge(delayMs: number, pushback?: number): void {
    this.cancelTimer(this.nextHedge);
    this.nextHedge = undefined;
    if (this.stopped || this.attemptsStarted >= this.policy.maxAttempts || !this.startsBeforeDeadline(delayMs)) return;
    this.nextHedge = this.after(delayMs, () => {
      this.nextHedge = undefined;
      const { throttle } = this.setup;
      if ((throttle && !throttle.allowsRetry()) || !this.startsBeforeDeadline(0)) return this.finishIfIdle();
      const attributes = { [GRPC_ATTEMPT_HEDGED]: true, [GRPC_ATTEMPT_BACKOFF_MS]: delayMs };
      this.startAttempt(pushback === undefined ? attributes : { ...attributes, [GRPC_ATTEMPT_PUSHBACK_MS]: pushback });
      this.scheduleHedge(this.policy.hedgingDelayMs);
    });
  }

  private finishIfIdle(): void {
    if (this.inFlight.size === 0 && this.nextHedge === undefined && this.lastFailure) this.finish(this.lastFailure);
  }
}
