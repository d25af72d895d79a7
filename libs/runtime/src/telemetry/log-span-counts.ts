import type { Logger } from 'pino';
import type { SpanCounts } from './span-accounting';

/**
 * One line at shutdown on what became of this process's spans: info when every one was
 * delivered, warn naming the setting to look at when some were lost.
 */
export function logSpanCounts(logger: Logger, counts: SpanCounts): void {
  const fields = { spans_ended: counts.ended, spans_exported: counts.exported, spans_failed: counts.failed, spans_dropped: counts.dropped };
  if (counts.failed > 0) {
    logger.warn(fields, `${counts.failed} spans failed to export: check OTEL_EXPORTER_OTLP_ENDPOINT and that the collector is up`);
  } else if (counts.dropped > 0) {
    logger.warn(fields, `${counts.dropped} spans dropped from a full export queue: raise OTEL_BSP_MAX_QUEUE_SIZE or lower the sampling ratio`);
  } else {
    logger.info(fields, 'every span exported');
  }
}
