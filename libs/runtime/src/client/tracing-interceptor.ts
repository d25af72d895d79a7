import type { Interceptor, InterceptingListener, Metadata, StatusObject } from '@grpc/grpc-js';
import { SpanKind, context, propagation, trace, type Context, type Span } from '@opentelemetry/api';
import { metadataSetter } from '../telemetry/metadata-carrier';
import { RPC_GRPC_STATUS_CODE, rpcMethodTelemetry, rpcSpanStatus } from '../telemetry/rpc-attributes';
import { underUnsampledParent } from '../telemetry/unsampled-parent';
import { asInterceptorResult, ForwardingCall, ForwardingListener, type InterceptingCallInterface } from './forwarding-call';

const tracer = trace.getTracer('@switchyard/runtime');

/** Ends the call's span with the call's status, then passes the status on. */
class SpanEndingListener extends ForwardingListener {
  constructor(
    next: Partial<InterceptingListener> | undefined,
    private readonly span: Span,
  ) {
    super(next);
  }

  onReceiveStatus(status: StatusObject): void {
    this.span.setAttribute(RPC_GRPC_STATUS_CODE, status.code);
    this.span.setStatus(rpcSpanStatus('client', status.code, status.details));
    this.span.end();
    super.onReceiveStatus(status);
  }
}

/** Writes the span's context into the call's headers when it starts, and ends the span with it. */
class TracedCall extends ForwardingCall {
  constructor(
    next: InterceptingCallInterface,
    private readonly span: Span,
    private readonly spanContext: Context,
  ) {
    super(next);
  }

  start(metadata: Metadata, listener?: Partial<InterceptingListener>): void {
    propagation.inject(this.spanContext, metadata, metadataSetter);
    this.next.start(metadata, new SpanEndingListener(listener, this.span));
  }
}

function startCallSpan(options: Parameters<Interceptor>[0], nextCall: Parameters<Interceptor>[1], { recordedOnly = false } = {}) {
  const path = options.method_definition.path;
  const parent = context.active();
  const { spanName, attributes } = rpcMethodTelemetry(path);
  const span = tracer.startSpan(spanName, { kind: SpanKind.CLIENT, attributes }, parent);
  const spanContext = trace.setSpan(parent, span);
  // Inner interceptors are created inside the span's context, so anything they trace nests under it.
  const call = context.with(spanContext, () => nextCall(options));
  // A span the sampler dropped records nothing, so it needs no layer of its own where the retry
  // layer writes the context (and with it the trace id and the decision) into the headers.
  if (recordedOnly && !span.isRecording()) return asInterceptorResult(call);
  return asInterceptorResult(new TracedCall(call, span, spanContext));
}

/**
 * One CLIENT span per call (retries included), child of whatever span is active where the call
 * is made, with W3C traceparent/tracestate written into the call's metadata.
 */
export const tracingInterceptor: Interceptor = startCallSpan;

/**
 * tracingInterceptor for a chain whose retry layer (retryInterceptor) writes the active context
 * into each attempt's headers, as createClientFactory's does: a unary call under an unsampled span
 * then gets no span and no layer of its own, one the sampler drops gets no layer, and the trace id
 * and the decision not to sample travel on in the headers the retry layer writes.
 */
export const tracingInterceptorBeforeRetries: Interceptor = (options, nextCall) => {
  const { requestStream, responseStream } = options.method_definition;
  if (requestStream || responseStream) return startCallSpan(options, nextCall);
  if (underUnsampledParent(context.active())) return asInterceptorResult(nextCall(options));
  return startCallSpan(options, nextCall, { recordedOnly: true });
};
