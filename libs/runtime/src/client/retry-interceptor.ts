import { InterceptingCall, status as Status, type Interceptor, type Metadata, type StatusObject } from '@grpc/grpc-js';

export interface RetryPolicy {
  /** Attempts in all, the first included. Default 3. */
  maxAttempts: number;
  /** Upper bound of the first backoff. Default 100 ms. */
  initialBackoffMs: number;
  /** Upper bound of any backoff. Default 2000 ms. */
  maxBackoffMs: number;
  /** Growth of the backoff bound per attempt. Default 2. */
  backoffMultiplier: number;
  /** Status codes worth another attempt. Default UNAVAILABLE only. */
  retryableCodes: ReadonlySet<Status>;
  /**
   * Whether this method with this request may be sent twice. Default: always. The client factory
   * narrows it to methods the protos mark idempotent and requests that carry an idempotency key.
   */
  mayRetry: (path: string, request: unknown) => boolean;
  /** Source of randomness for jitter, replaceable in tests. */
  random: () => number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  initialBackoffMs: 100,
  maxBackoffMs: 2000,
  backoffMultiplier: 2,
  retryableCodes: new Set([Status.UNAVAILABLE]),
  mayRetry: () => true,
  random: Math.random,
};

/** Full jitter (AWS architecture blog): uniform in [0, min(max, initial * multiplier^(n-1))]. */
export function backoffDelayMs(policy: RetryPolicy, retryNumber: number): number {
  const bound = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * policy.backoffMultiplier ** (retryNumber - 1));
  return Math.floor(policy.random() * bound);
}

interface AttemptResult {
  metadata?: Metadata;
  message?: unknown;
  status: StatusObject;
}

/**
 * Retries unary calls that fail with a retryable code, with exponential backoff and full jitter,
 * within the call's deadline (a retry that could not finish before it is not started). Streams
 * pass through untouched: their messages cannot be replayed safely.
 */
export function retryInterceptor(overrides: Partial<RetryPolicy> = {}): Interceptor {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...overrides };
  return (options, nextCall) => {
    const { path, requestStream, responseStream } = options.method_definition;
    if (requestStream || responseStream || policy.maxAttempts <= 1) return new InterceptingCall(nextCall(options));
    const deadline = options.deadline === undefined ? Infinity : new Date(options.deadline).getTime();
    let request: unknown;
    let retryCall: ReturnType<typeof nextCall> | undefined;
    let retryTimer: NodeJS.Timeout | undefined;

    return new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        const metadataToReplay = metadata.clone();
        let attempt = 1;
        // An attempt's headers, message and status are held back until we know it is the last.
        const collect = (done: (result: AttemptResult) => void) => {
          const result: Partial<AttemptResult> = {};
          return {
            onReceiveMetadata: (received: Metadata) => void (result.metadata = received),
            onReceiveMessage: (received: unknown) => void (result.message = received),
            onReceiveStatus: (status: StatusObject) => done({ ...result, status }),
          };
        };
        const onAttemptDone = (result: AttemptResult) => {
          const delay = backoffDelayMs(policy, attempt);
          const retry =
            policy.retryableCodes.has(result.status.code) &&
            attempt < policy.maxAttempts &&
            Date.now() + delay < deadline &&
            policy.mayRetry(path, request);
          if (!retry) {
            if (result.metadata) listener.onReceiveMetadata(result.metadata);
            if (result.message !== undefined) listener.onReceiveMessage(result.message);
            listener.onReceiveStatus(result.status);
            return;
          }
          attempt += 1;
          retryTimer = setTimeout(() => {
            retryCall = nextCall(options);
            retryCall.start(metadataToReplay.clone(), collect(onAttemptDone));
            retryCall.sendMessage(request);
            retryCall.halfClose();
          }, delay);
        };
        // The first attempt is the call grpc-js set up; its request arrives through sendMessage.
        next(metadata, collect(onAttemptDone));
      },
      sendMessage(message, next) {
        request = message;
        next(message);
      },
      cancel(next) {
        clearTimeout(retryTimer);
        retryCall?.cancelWithStatus(Status.CANCELLED, 'cancelled by the caller');
        next();
      },
    });
  };
}
