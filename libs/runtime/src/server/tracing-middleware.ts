import { ROOT_CONTEXT, SpanKind, context, propagation, trace } from '@opentelemetry/api';
import { metadataGetter } from '../telemetry/metadata-carrier';
import { RPC_GRPC_STATUS_CODE, rpcMethodTelemetry, rpcSpanStatus } from '../telemetry/rpc-attributes';
import { underUnsampledParent } from '../telemetry/unsampled-parent';
import type { ServerMiddleware } from './server-middleware';

const tracer = trace.getTracer('@switchyard/runtime');

/**
 * One SERVER span per call, child of the caller's span when the call carries W3C trace context,
 * and active while the handler runs, so its outgoing calls and log lines join the same trace.
 * Under a caller's unsampled span no span is made: the caller's context is the active one.
 */
export const tracingMiddleware: ServerMiddleware = (call, next) => {
  const parent = propagation.extract(ROOT_CONTEXT, call.metadata, metadataGetter);
  if (underUnsampledParent(parent)) return context.with(parent, next);
  const { spanName, attributes } = rpcMethodTelemetry(call.method);
  const span = tracer.startSpan(spanName, { kind: SpanKind.SERVER, attributes }, parent);
  // then() rather than async/await: with async hooks on (the context manager's), each await costs
  // extra promises and hook calls on every call.
  return context.with(trace.setSpan(parent, span), next).then((outcome) => {
    span.setAttribute(RPC_GRPC_STATUS_CODE, outcome.code);
    span.setStatus(rpcSpanStatus('server', outcome.code, outcome.error?.message));
    const cause = outcome.error?.cause;
    if (cause instanceof Error && outcome.code === 13) span.recordException(cause);
    span.end();
    return outcome;
  });
};
