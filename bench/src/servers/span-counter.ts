import { startOtlpReceiver, type ReceivedSpan } from '@switchyard/testing';
import type { WindowResult } from '../bench-messages';

export interface SpanCount {
  /** Every span received, any trace. */
  spansReceived: number;
  /** Traces with a GetUser span: one per sampled call of the load generator (and heartbeats aside). */
  getUserTraces: number;
  /** Spans of a complete GetUser trace (client, its attempt, server...): the most common count. */
  spansPerTrace: number;
  /** Spans missing from incomplete GetUser traces, plus whole traces missing (100% sampling only). */
  spansDropped: number;
}

/**
 * The libs/testing OTLP/gRPC receiver, in the harness process, counting instead of keeping: every
 * 250 ms it takes the spans received so far and tallies them per trace, so memory stays flat at
 * 100% sampling. A span a process created but never delivered (BatchSpanProcessor queue full, an
 * export that failed) shows as a GetUser trace with fewer spans than a complete one; at 100%
 * sampling, fewer GetUser traces than calls answered in the window means whole traces were lost.
 */
export async function startSpanCounter(): Promise<{ endpoint: string; finish(window: WindowResult | undefined, sampled: number): Promise<SpanCount> }> {
  const receiver = await startOtlpReceiver();
  const traces = new Map<string, { spans: number; getUser: boolean }>();
  let spansReceived = 0;
  const tally = () => {
    const batch: ReceivedSpan[] = receiver.spans.splice(0);
    spansReceived += batch.length;
    for (const span of batch) {
      const trace = traces.get(span.traceId) ?? { spans: 0, getUser: false };
      trace.spans += 1;
      trace.getUser ||= span.name.endsWith('UserService/GetUser');
      traces.set(span.traceId, trace);
    }
  };
  const timer = setInterval(tally, 250);
  return {
    endpoint: receiver.endpoint,
    async finish(window, sampled) {
      // The servers and the load generator flushed on their way out; take what is left.
      await new Promise((resolve) => setTimeout(resolve, 300));
      clearInterval(timer);
      tally();
      await receiver.stop();
      const sizes = [...traces.values()].filter((t) => t.getUser).map((t) => t.spans);
      const frequency = new Map<number, number>();
      for (const size of sizes) frequency.set(size, (frequency.get(size) ?? 0) + 1);
      const spansPerTrace = [...frequency.entries()].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0]?.[0] ?? 0;
      const missingInTraces = sizes.reduce((sum, size) => sum + Math.max(0, spansPerTrace - size), 0);
      // Every call answered in the window was sampled at 100%: each one is a trace we must have.
      const missingTraces = sampled >= 1 && window ? Math.max(0, window.calls - sizes.length) : 0;
      return { spansReceived, getUserTraces: sizes.length, spansPerTrace, spansDropped: missingInTraces + missingTraces * spansPerTrace };
    },
  };
}
