import { InterceptingCall, Metadata, status as Status, type Interceptor, type InterceptingListener, type StatusObject } from '@grpc/grpc-js';
import { context, propagation, type Attributes, type Context } from '@opentelemetry/api';
import { OUTRUN_DETAILS } from '../registry/outlier-ejection-policy';
import { metadataSetter } from '../telemetry/metadata-carrier';
import { startAttemptSpan, type AttemptSpan } from './attempt-span';
import type { RetryThrottle } from './retry-throttle';
import type { StreamResetPacing } from './stream-reset-pacing';

type InterceptingCallInterface = ConstructorParameters<typeof InterceptingCall>[0];
type InterceptorOptions = Parameters<Interceptor>[0];
type NextCall = Parameters<Interceptor>[1];

const TRACEPARENT = 'traceparent';

/** Header telling the server how many attempts of this call came before (gRFC A6). */
export const PREVIOUS_ATTEMPTS_KEY = 'grpc-previous-rpc-attempts';

/** What the interceptor knows about one unary call when it starts. */
export interface CallSetup {
  options: InterceptorOptions;
  nextCall: NextCall;
  path: string;
  /** Context the call started in; its active span is the call's CLIENT span. */
  callContext: Context;
  /** Epoch ms; Infinity without a deadline. */
  deadline: number;
  throttle: RetryThrottle | undefined;
  /** Told of every attempt beyond the first (retry, hedge, backup), e.g. to count it. */
  onExtraAttempt?: (path: string) => void;
  /** The target's budget of cancels for attempts another one outran. Default: every such attempt is cancelled. */
  resets?: StreamResetPacing;
}

export interface AttemptResult {
  metadata?: Metadata;
  message?: unknown;
  status: StatusObject;
}

export interface Attempt {
  readonly number: number;
  /** performance.now() when it started. */
  readonly startedAt: number;
  call: InterceptingCallInterface;
  span: AttemptSpan;
  /** Cancelled by us because another attempt answered. */
  abandoned: boolean;
}

/**
 * A unary call made of several attempts, each an inner call of its own with its own span. It
 * keeps the request and headers to replay them, holds back each attempt's headers, message and
 * status until it knows which attempt answers the call, and hands exactly one result to the
 * caller. Subclasses decide when to start attempts (retrying-call.ts, hedging-call.ts).
 */
export abstract class MultiAttemptCall implements InterceptingCallInterface {
  protected readonly inFlight = new Set<Attempt>();
  protected attemptsStarted = 0;
  protected request: unknown;
  private listener: Partial<InterceptingListener> | undefined;
  // Set by start; no empty Metadata per call before that.
  private metadata: Metadata | undefined;
  private hasRequest = false;
  private halfClosed = false;
  private finished = false;
  private cancelledByCaller = false;
  private lastAttempt: Attempt | undefined;
  // Made by the first backoff or hedge: most calls never wait.
  private timers: Set<NodeJS.Timeout> | undefined;

  constructor(protected readonly setup: CallSetup) {}

  /** Called once the caller has started the call: start the first attempt. */
  protected abstract onStart(): void;
  /** An attempt ended (not one we abandoned, not after the caller cancelled): retry, hedge or finish. */
  protected abstract onAttemptDone(attempt: Attempt, result: AttemptResult): void;

  start(metadata: Metadata, listener?: Partial<InterceptingListener>): void {
    // Kept as the caller gave it: each attempt sends a copy (startAttempt), so one clone a call.
    this.metadata = metadata;
    this.listener = listener;
    this.onStart();
  }

  sendMessageWithContext(messageContext: object, message: unknown): void {
    this.request = message;
    this.hasRequest = true;
    for (const attempt of this.inFlight) attempt.call.sendMessageWithContext(messageContext, message);
  }

  sendMessage(message: unknown): void {
    this.sendMessageWithContext({}, message);
  }

  // Unary attempts start reading on their own (grpc-js's BaseUnaryInterceptingCall).
  startRead(): void {}

  halfClose(): void {
    this.halfClosed = true;
    for (const attempt of this.inFlight) attempt.call.halfClose();
  }

  cancelWithStatus(code: Status, details: string): void {
    if (this.finished || this.cancelledByCaller) return;
    this.cancelledByCaller = true;
    this.clearTimers();
    // Attempts in flight answer the caller with their CANCELLED status; between attempts, we do.
    if (this.inFlight.size === 0) this.finish({ status: { code, details, metadata: new Metadata() } });
    for (const attempt of this.inFlight) attempt.call.cancelWithStatus(code, details);
  }

  getPeer(): string {
    return this.lastAttempt?.call.getPeer() ?? '';
  }

  getAuthContext(): ReturnType<InterceptingCallInterface['getAuthContext']> {
    return this.lastAttempt?.call.getAuthContext() ?? null;
  }

  /** Whether an attempt started `delayMs` from now would start before the deadline. */
  protected startsBeforeDeadline(delayMs: number): boolean {
    return Date.now() + delayMs < this.setup.deadline;
  }

  /** Runs `work` after `delayMs` unless the call finishes first. */
  protected after(delayMs: number, work: () => void): NodeJS.Timeout {
    const timers = (this.timers ??= new Set());
    const timer = setTimeout(() => {
      timers.delete(timer);
      work();
    }, delayMs);
    timers.add(timer);
    return timer;
  }

  protected cancelTimer(timer: NodeJS.Timeout | undefined): void {
    if (!timer) return;
    clearTimeout(timer);
    this.timers?.delete(timer);
  }

  /**
   * Starts attempt n+1 as a child span of the call's span, with that span active while the inner
   * call is created and started, so inner interceptors and anything they trace nest under it.
   */
  protected startAttempt(attributes: Attributes): Attempt {
    const number = ++this.attemptsStarted;
    if (number > 1) this.setup.onExtraAttempt?.(this.setup.path);
    const span = startAttemptSpan(this.setup.callContext, number, attributes);
    const metadata = this.metadata?.clone() ?? new Metadata();
    // The server's span is a child of this attempt, not of the call: a trace then shows which
    // attempt reached which server, and how long each waited. An attempt without a span of its
    // own (call not recorded) would write the same traceparent the tracing interceptor already
    // put in the caller's headers: skip that second write on the common path.
    if (span.context !== this.setup.callContext || metadata.get(TRACEPARENT).length === 0) propagation.inject(span.context, metadata, metadataSetter);
    if (number > 1) metadata.set(PREVIOUS_ATTEMPTS_KEY, String(number - 1));
    let heldMetadata: Metadata | undefined;
    let heldMessage: unknown;
    const begin = () => {
      const attempt: Attempt = { number, startedAt: performance.now(), span, call: this.setup.nextCall(this.setup.options), abandoned: false };
      this.inFlight.add(attempt);
      this.lastAttempt = attempt;
      attempt.call.start(metadata, {
        onReceiveMetadata: (received: Metadata) => void (heldMetadata = received),
        onReceiveMessage: (received: unknown) => void (heldMessage = received),
        onReceiveStatus: (status: StatusObject) => this.attemptEnded(attempt, { metadata: heldMetadata, message: heldMessage, status }),
      });
      if (this.hasRequest) attempt.call.sendMessage(this.request);
      if (this.halfClosed) attempt.call.halfClose();
      return attempt;
    };
    // A first attempt with no span of its own starts in the context already active: entering it
    // again would cost an AsyncLocalStorage run on every call.
    return context.active() === span.context ? begin() : context.with(span.context, begin);
  }

  /**
   * Gives `result` to the caller, and cancels every other attempt still in flight. When `winner`
   * answered OK, the attempts started before it are cancelled as outrun (OUTRUN_DETAILS), which
   * tells the load balancer that their instance was slower than one asked later. Beyond the
   * target's `resets` budget an attempt is not cancelled: it finishes, and its answer is dropped.
   */
  protected finish(result: AttemptResult, winner?: Attempt): void {
    if (this.finished) return;
    this.finished = true;
    this.clearTimers();
    const outrunBefore = winner && result.status.code === Status.OK ? winner.number : 0;
    for (const attempt of this.inFlight) {
      attempt.abandoned = true;
      // The caller's cancel has already reached every attempt: no reset of the budget is owed.
      if (this.cancelledByCaller) continue;
      if (this.setup.resets && !this.setup.resets.tryReset()) continue;
      attempt.call.cancelWithStatus(Status.CANCELLED, attempt.number < outrunBefore ? OUTRUN_DETAILS : 'another attempt answered the call');
    }
    if (result.metadata) this.listener?.onReceiveMetadata?.(result.metadata);
    if (result.message !== undefined) this.listener?.onReceiveMessage?.(result.message);
    this.listener?.onReceiveStatus?.(result.status);
  }

  private attemptEnded(attempt: Attempt, result: AttemptResult): void {
    this.inFlight.delete(attempt);
    attempt.span.end(result.status, attempt.abandoned);
    if (this.finished) return;
    if (this.cancelledByCaller) return this.finish(result);
    this.onAttemptDone(attempt, result);
  }

  private clearTimers(): void {
    if (!this.timers) return;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
