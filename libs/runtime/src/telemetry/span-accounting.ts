import type { Context } from '@opentelemetry/api';
import { TraceFlags } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';

/** What happened to the sampled spans of this process, for the shutdown log line and benchmarks. */
export interface SpanCounts {
  /** Sampled spans that ended: each one should reach the collector. */
  ended: number;
  /** Spans the exporter delivered. */
  exported: number;
  /** Spans in export batches that failed (collector unreachable, timeout). */
  failed: number;
  /**
   * Spans that never reached the exporter: the batch queue was full (OTEL_BSP_MAX_QUEUE_SIZE).
   * Final once the telemetry has shut down; before that, spans still queued count here too.
   */
  dropped: number;
}

/** Counts the spans an exporter delivers and those it fails to. */
class CountingSpanExporter implements SpanExporter {
  exported = 0;
  failed = 0;

  constructor(private readonly exporter: SpanExporter) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.exporter.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) this.exported += spans.length;
      else this.failed += spans.length;
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.exporter.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.exporter.forceFlush?.() ?? Promise.resolve();
  }
}

/** Counts the sampled spans that end, before the batch processor may drop them. */
class CountingSpanProcessor implements SpanProcessor {
  ended = 0;

  constructor(private readonly processor: SpanProcessor) {}

  onStart(span: Span, parentContext: Context): void {
    this.processor.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    if (span.spanContext().traceFlags & TraceFlags.SAMPLED) this.ended += 1;
    this.processor.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.processor.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.processor.shutdown();
  }
}

/**
 * Wraps an exporter and the processor built on it so the process can tell, at the end, how many
 * spans it made, delivered, failed to deliver, and dropped from a full queue: lost spans are
 * otherwise silent (the SDK only logs at debug).
 */
export function accountedSpanExport(exporter: SpanExporter, processorFor: (exporter: SpanExporter) => SpanProcessor): { processor: SpanProcessor; counts(): SpanCounts } {
  const countingExporter = new CountingSpanExporter(exporter);
  const processor = new CountingSpanProcessor(processorFor(countingExporter));
  return {
    processor,
    counts: () => ({
      ended: processor.ended,
      exported: countingExporter.exported,
      failed: countingExporter.failed,
      dropped: Math.max(0, processor.ended - countingExporter.exported - countingExporter.failed),
    }),
  };
}
