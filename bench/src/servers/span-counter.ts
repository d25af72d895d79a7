import { startOtlpReceiver, type ReceivedSpan } from '@switchyard/testing';
import type { SpanReport } from '../bench-messages';

export interface SpanCount {
  /** Sampled spans the reporting processes (the Switchyard server and the load generator) ended. */
  spansEnded: number;
  /** Spans of those processes that reached the receiver. */
  spansReceived: number;
  /** Ended but never received: dropped from a full queue, lost in a failed export, or in transit. */
  spansDropped: number;
  /** Traces with a GetUser span: one per sampled call. */
  getUserTraces: number;
}

/**
 * The libs/testing OTLP/gRPC receiver, in the harness process, counting instead of keeping: every
 * 250 ms it takes the spans received so far and tallies them by service and by trace, so memory
 * stays flat at 100% sampling. At the end, each process's own count of the sampled spans it ended
 * (reported when it stopped, after flushing) is compared with what arrived from it: the
 * difference is exact, whatever the sampling ratio. The registry's spans are left out on both
 * sides: it runs as the built app and does not report its count.
 */
export async function startSpanCounter(): Promise<{ endpoint: string; finish(reports: SpanReport[]): Promise<SpanCount> }> {
  const receiver = await startOtlpReceiver();
  const received = new Map<string, number>();
  const getUserTraces = new Set<string>();
  const tally = () => {
    const batch: ReceivedSpan[] = receiver.spans.splice(0);
    for (const span of batch) {
      const service = String(span.resource['service.name']);
      received.set(service, (received.get(service) ?? 0) + 1);
      if (span.name.endsWith('UserService/GetUser')) getUserTraces.add(span.traceId);
    }
  };
  const timer = setInterval(tally, 250);
  return {
    endpoint: receiver.endpoint,
    async finish(reports) {
      // Every process flushed before it reported; the last batches may still be in flight here.
      await new Promise((resolve) => setTimeout(resolve, 300));
      clearInterval(timer);
      tally();
      await receiver.stop();
      if (reports.length === 0) throw new Error('span counter: no process reported its span counts (is OTLP export on?)');
      const spansEnded = reports.reduce((sum, report) => sum + report.counts.ended, 0);
      const spansReceived = reports.reduce((sum, report) => sum + (received.get(report.service) ?? 0), 0);
      return { spansEnded, spansReceived, spansDropped: spansEnded - spansReceived, getUserTraces: getUserTraces.size };
    },
  };
}
