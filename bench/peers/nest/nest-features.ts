/**
 * What the "nestjs + tracing + log line" rows add to Nest's defaults, matching what Switchyard's
 * rows carry: the OpenTelemetry SDK with the gRPC instrumentation, and one log line per call.
 */
export interface NestFeatures {
  /** Share of root traces sampled (parent-based), as Switchyard's OTEL_TRACES_SAMPLER_ARG. */
  traceSampleRatio: number;
  /** Level of the per-call log line and of the logger, e.g. `info`. */
  callLogLevel: string;
}
