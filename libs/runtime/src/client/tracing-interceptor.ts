import { InterceptingCall, type Interceptor } from '@grpc/grpc-js';
import { SpanKind, context, propagation, trace } from '@opentelemetry/api';
import { metadataSetter } from '../telemetry/metadata-carrier';
import { RPC_GRPC_STATUS_CODE, rpcAttributes, rpcSpanName, rpcSpanStatus } from '../telemetry/rpc-attributes';

const tracer = trace.getTracer('@switchyard/runtime');

/**
 * One CLIENT span per call (retries included), child of whatever span is active where the call
 * is made, with W3C traceparent/tracestate written into the call's metadata.
 */
export const tracingInterceptor: Interceptor = (options, nextCall) => {
  const path = options.method_definition.path;
  const parent = context.active();
  const span = tracer.startSpan(rpcSpanName(path), { kind: SpanKind.CLIENT, attributes: rpcAttributes(path) }, parent);
  const spanContext = trace.setSpan(parent, span);
  // Inner interceptors are created inside the span's context, so anything they trace nests under it.
  const call = context.with(spanContext, () => nextCall(options));
  return new InterceptingCall(call, {
    start(metadata, _listener, next) {
      propagation.inject(spanContext, metadata, metadataSetter);
      next(metadata, {
        onReceiveStatus(status, nextStatus) {
          span.setAttribute(RPC_GRPC_STATUS_CODE, status.code);
          span.setStatus(rpcSpanStatus('client', status.code, status.details));
          span.end();
          nextStatus(status);
        },
      });
    },
  });
};
