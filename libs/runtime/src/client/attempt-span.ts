import type { StatusObject } from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { RPC_GRPC_STATUS_CODE, rpcSpanStatus } from '../telemetry/rpc-attributes';

const tracer = trace.getTracer('@switchyard/runtime');

/** 1-based number of the attempt within its call. */
export const GRPC_ATTEMPT = 'grpc.attempt';
/** Backoff waited before this attempt (0 for the first), in ms. */
export const GRPC_ATTEMPT_BACKOFF_MS = 'grpc.attempt.backoff_ms';
/** Set when the wait before this attempt was the server's `grpc-retry-pushback-ms`. */
export const GRPC_ATTEMPT_PUSHBACK_MS = 'grpc.attempt.pushback_ms';
/** True for an attempt sent by hedging rather than after a failure. */
export const GRPC_ATTEMPT_HEDGED = 'grpc.attempt.hedged';
/** True for an attempt cancelled because another one already answered the call. */
export const GRPC_ATTEMPT_ABANDONED = 'grpc.attempt.abandoned';

export interface AttemptSpan {
  /** Context with the attempt's span active: create the attempt's inner call inside it. */
  context: Context;
  /** Records the attempt's status and ends the span. */
  end(status: StatusObject, abandoned?: boolean): void;
}

const endNothing = () => {};

/**
 * Starts the span of one attempt, named `attempt <n>`, as a child of `callContext` (the context
 * the call started in, whose active span is the call's CLIENT span). The parent is passed in, not
 * read from the active context, because retries start from timers and grpc-js callbacks whose
 * async context belongs to whoever opened the connection.
 */
export function startAttemptSpan(callContext: Context, attempt: number, attributes: Attributes): AttemptSpan {
  // A call that is not recorded (not sampled, or no tracing SDK) would only get attempt spans that
  // are not recorded either, each costing ids and objects on every call: its attempts run in the
  // call's own context instead, and the server's span hangs under the call's.
  if (!trace.getSpan(callContext)?.isRecording()) return { context: callContext, end: endNothing };
  const span: Span = tracer.startSpan(`attempt ${attempt}`, { kind: SpanKind.INTERNAL, attributes: { [GRPC_ATTEMPT]: attempt, ...attributes } }, callContext);
  return {
    context: trace.setSpan(callContext, span),
    end(status, abandoned = false) {
      span.setAttribute(RPC_GRPC_STATUS_CODE, status.code);
      if (abandoned) span.setAttribute(GRPC_ATTEMPT_ABANDONED, true);
      // A loser of a hedge was cancelled by us: not an error of the call.
      span.setStatus(abandoned ? { code: SpanStatusCode.UNSET } : rpcSpanStatus('client', status.code, status.details));
      span.end();
    },
  };
}
