import type { Logger } from 'pino';
import type { SpanCounts } from './span-accounting';
import type { FinalExport } from './start-telemetry';

/**
 * One line at shutdown on what became of this process's spans: info when every one was
 * delivered, warn naming the setting to look at when some were lost.
 */
export function logSpanCounts(logger: Logger, counts: SpanCounts, finalExport: FinalExport = 'flushed'): void {
  const fields = { spans_ended: counts.ended, spans_exported: counts.exported, spans_failed: counts.failed, spans_dropped: counts.dropped };
  if (finalExport === 'timed out') {
    const undelivered = counts.ended - counts.exported;
    logger.warn({ ...fields, final_export: finalExport }, `final span export gave up: ${undelivered} spans not delivered; check OTEL_EXPORTER_OTLP_ENDPOINT and that the collector is up`);
  } else if (counts.failed > 0) {
    logger.warn(fields, `${counts.failed} spans failed to export: check OTEL_EXPORTER_OTLP_ENDPOINT and that the collector is up`);
  } else if (counts.dropped > 0) {
    logger.warn(fields, `${counts.dropped} spans dropped from a full export queue: raise OTEL_BSP_MAX_QUEUE_SIZE or lower the sampling ratio`);
  } else {
    logger.info(fields, 'every span exported');
  }
}
