import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { NoopSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';

export interface NestTracingOptions {
  /** service.name of this process's spans. */
  serviceName: string;
  /** Share of root traces sampled; callers' decisions are followed (parent-based). */
  sampleRatio: number;
}

/**
 * OpenTelemetry as a NestJS user adds it: the NodeSDK with the gRPC auto-instrumentation, which
 * patches grpc-js when it is required, so this must run before anything loads @grpc/grpc-js
 * (Nest's transport, our modules). No exporter, as Switchyard's rows run: sampled spans are made,
 * with ids and context passed on in `traceparent`, then dropped by a no-op processor.
 */
export function startNestTracing(options: NestTracingOptions): { shutdown(): Promise<void> } {
  if (Object.keys(require.cache).some((path) => path.includes('/@grpc/grpc-js/'))) {
    throw new Error('Nest tracing started after @grpc/grpc-js was loaded: its calls would not be traced');
  }
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio) }),
    spanProcessors: [new NoopSpanProcessor()],
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [new GrpcInstrumentation()],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
