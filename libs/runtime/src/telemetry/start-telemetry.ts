import { randomUUID } from 'node:crypto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { accountedSpanExport, type SpanCounts } from './span-accounting';
import { samplerFollowsParent, setParentDecidesSampling } from './unsampled-parent';

export interface TelemetryOptions {
  serviceName: string;
  serviceVersion: string;
  env?: Record<string, string | undefined>;
}

/** How the final flush at shutdown went. */
export type FinalExport = 'flushed' | 'timed out' | 'failed';

/**
 * How long the final flush may take. A collector that is gone (stopped before the apps, a host
 * that no longer answers) would otherwise hold the exit for the exporter's own 10 s timeout,
 * past a supervisor's patience, and turn a clean stop into a failure.
 */
export const FINAL_EXPORT_TIMEOUT_MS = 2000;

export interface Telemetry {
  /** service.instance.id on every span; logs carry it too. */
  instanceId: string;
  /** Whether spans leave the process (OTEL_EXPORTER_OTLP_ENDPOINT is set). */
  exporting: boolean;
  /**
   * Flushes spans still buffered and stops the SDK, giving up after `timeoutMs`
   * (FINAL_EXPORT_TIMEOUT_MS by default). Never rejects: it says how the final export went.
   */
  shutdown(timeoutMs?: number): Promise<FinalExport>;
  /** Sampled spans made, exported, failed and dropped so far (all zero when not exporting). */
  spanCounts(): SpanCounts;
}

/**
 * Starts the OpenTelemetry SDK. Call it first in main, before servers and clients exist.
 * Spans go over OTLP/gRPC to OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
 * without one, spans are still created (trace ids in logs, context passed on to other services)
 * but not exported. OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES and OTEL_TRACES_SAMPLER(_ARG) are
 * honoured by the SDK itself. Metrics and log export stay off: logs go to stdout through pino.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  const env = options.env ?? process.env;
  const instanceId = randomUUID();
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const exporting = Boolean(endpoint) && env.OTEL_SDK_DISABLED !== 'true';
  // A tracer provider is registered even without an exporter: only then do spans have ids.
  // The endpoint is passed on, not left for the exporter to re-read from process.env, so the
  // environment given here is the one that counts.
  const accounted = exporting ? accountedSpanExport(new OTLPTraceExporter({ url: endpoint }), (exporter) => new BatchSpanProcessor(exporter)) : undefined;
  const spanProcessor: SpanProcessor = accounted?.processor ?? new NoopSpanProcessor();
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME || options.serviceName,
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      [ATTR_SERVICE_VERSION]: options.serviceVersion,
      'service.instance.id': instanceId,
      'service.namespace': 'switchyard',
    }),
    spanProcessors: [spanProcessor],
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  // The SDK reads the sampler from process.env itself.
  setParentDecidesSampling(samplerFollowsParent(process.env.OTEL_TRACES_SAMPLER));
  return {
    instanceId,
    exporting,
    shutdown: (timeoutMs = FINAL_EXPORT_TIMEOUT_MS) => finishWithin(sdk.shutdown(), timeoutMs),
    spanCounts: () => accounted?.counts() ?? { ended: 0, exported: 0, failed: 0, dropped: 0 },
  };
}

async function finishWithin(flush: Promise<void>, timeoutMs: number): Promise<FinalExport> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<FinalExport>((resolve) => {
    timer = setTimeout(() => resolve('timed out'), timeoutMs);
  });
  try {
    return await Promise.race([flush.then((): FinalExport => 'flushed'), timedOut]);
  } catch {
    return 'failed';
  } finally {
    clearTimeout(timer);
  }
}
