import { ExportResultCode } from '@opentelemetry/core';
import { AlwaysOffSampler, BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, SamplingDecision, type Sampler, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { accountedSpanExport } from './span-accounting';

const recordOnly: Sampler = { shouldSample: () => ({ decision: SamplingDecision.RECORD }), toString: () => 'RecordOnlySampler' };

function provider(exporter: SpanExporter, batch: ConstructorParameters<typeof BatchSpanProcessor>[1] = {}) {
  const accounted = accountedSpanExport(exporter, (counting) => new BatchSpanProcessor(counting, batch));
  return { provider: new BasicTracerProvider({ spanProcessors: [accounted.processor] }), counts: accounted.counts };
}

describe('span accounting', () => {
  it('counts sampled spans ended and exported; all delivered means none dropped', async () => {
    const exporter = new InMemorySpanExporter();
    const { provider: traced, counts } = provider(exporter);
    for (let i = 0; i < 10; i += 1) traced.getTracer('t').startSpan(`s${i}`).end();
    await traced.forceFlush();
    expect(exporter.getFinishedSpans()).toHaveLength(10);
    expect(counts()).toEqual({ ended: 10, exported: 10, failed: 0, dropped: 0 });
  });

  it.each([
    // Recorded but not sampled: the span reaches the processors' onEnd without the SAMPLED flag,
    // and the batch processor never queues it; counting it would report it as dropped.
    ['recorded but not sampled', recordOnly],
    // Not recorded: the SDK makes no span the processors see.
    ['not recorded', new AlwaysOffSampler()],
  ])('does not count spans that are %s', async (_kind, sampler) => {
    const exporter = new InMemorySpanExporter();
    const accounted = accountedSpanExport(exporter, (counting) => new BatchSpanProcessor(counting));
    const unsampled = new BasicTracerProvider({ sampler, spanProcessors: [accounted.processor] });
    for (let i = 0; i < 3; i += 1) unsampled.getTracer('t').startSpan(`off${i}`).end();
    await unsampled.forceFlush();
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(accounted.counts()).toEqual({ ended: 0, exported: 0, failed: 0, dropped: 0 });
  });

  it('counts the spans a full queue drops', async () => {
    const exporter = new InMemorySpanExporter();
    const { provider: traced, counts } = provider(exporter, { maxQueueSize: 4, maxExportBatchSize: 4, scheduledDelayMillis: 60_000 });
    for (let i = 0; i < 10; i += 1) traced.getTracer('t').startSpan(`s${i}`).end();
    await traced.forceFlush();
    const delivered = exporter.getFinishedSpans().length;
    expect(delivered).toBeLessThan(10);
    expect(counts()).toEqual({ ended: 10, exported: delivered, failed: 0, dropped: 10 - delivered });
  });

  it('counts the spans of failed export batches', async () => {
    const failing: SpanExporter = {
      export: (_spans, done) => done({ code: ExportResultCode.FAILED, error: new Error('collector down') }),
      shutdown: async () => {},
    };
    const { provider: traced, counts } = provider(failing);
    for (let i = 0; i < 3; i += 1) traced.getTracer('t').startSpan(`s${i}`).end();
    // The SDK reports the failure to its error handler; the counts must say how many spans it cost.
    await traced.forceFlush().catch(() => undefined);
    expect(counts()).toEqual({ ended: 3, exported: 0, failed: 3, dropped: 0 });
  });
});
