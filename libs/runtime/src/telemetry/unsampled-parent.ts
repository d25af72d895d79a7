import { TraceFlags, trace, type Context } from '@opentelemetry/api';

// Whether the sampler follows the parent's decision, as the default (parentbased_always_on) and
// every parentbased_* OTEL_TRACES_SAMPLER do. startTelemetry sets it from the environment.
let parentDecides = true;

/** Says whether the configured sampler follows the parent's decision (OTEL_TRACES_SAMPLER=parentbased_*, the default). */
export function setParentDecidesSampling(decides: boolean): void {
  parentDecides = decides;
}

/** True for an unset or empty OTEL_TRACES_SAMPLER and every parentbased_* one. */
export function samplerFollowsParent(sampler: string | undefined): boolean {
  return !sampler || sampler.startsWith('parentbased_');
}

/**
 * True when `parent` carries a valid span context whose trace is not sampled and the sampler
 * follows parents: a span started under it could never be recorded. Tracing then passes the
 * parent's context on instead of making such a span (ids, a sampling decision, a context and
 * span objects on every call); the trace id and the decision travel on just the same.
 */
export function underUnsampledParent(parent: Context): boolean {
  if (!parentDecides) return false;
  const spanContext = trace.getSpanContext(parent);
  return spanContext !== undefined && (spanContext.traceFlags & TraceFlags.SAMPLED) === 0 && trace.isSpanContextValid(spanContext);
}
