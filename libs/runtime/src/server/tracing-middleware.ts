import { ROOT_CONTEXT, SpanKind, context, propagation, trace } from '@opentelemetry/api';
import { metadataGetter } from '../telemetry/metadata-carrier';
import { RPC_GRPC_STATUS_CODE, rpcAttributes, rpcSpanName, rpcSpanStatus } from '../telemetry/rpc-attributes';
import type { ServerMiddleware } from './server-middleware';

const tracer = trace.getTracer('@switchyard/runtime');

/**
 * One SERVER span per call, child of the caller's span when the call carries W3C trace context,
 * and active while the handler runs, so its outgoing calls and log lines join the same trace.
 */
export const tracingMiddleware: ServerMiddleware = async (call, next) => {
  const parent = propagation.extract(ROOT_CONTEXT, call.metadata, metadataGetter);
  const span = tracer.startSpan(rpcSpanName(call.method), { kind: SpanKind.SERVER, attributes: rpcAttributes(call.method) }, parent);
  const outcome = await context.with(trace.setSpan(parent, span), next);
  span.setAttribute(RPC_GRPC_STATUS_CODE, outcome.code);
  span.setStatus(rpcSpanStatus('server', outcome.code, outcome.error?.message));
  const cause = outcome.error?.cause;
  if (cause instanceof Error && outcome.code === 13) span.recordException(cause);
  span.end();
  return outcome;
};
