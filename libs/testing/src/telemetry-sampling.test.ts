// The standard OTEL_TRACES_SAMPLER variables reach the SDK that startTelemetry starts.
import { trace } from '@opentelemetry/api';
import { startTelemetry } from '@switchyard/runtime';
import { startOtlpReceiver } from './otlp-receiver';

describe('startTelemetry sampling', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('honours OTEL_TRACES_SAMPLER: nothing sampled with a ratio of 0, and nothing exported', async () => {
    const receiver = await startOtlpReceiver();
    process.env.OTEL_TRACES_SAMPLER = 'traceidratio';
    process.env.OTEL_TRACES_SAMPLER_ARG = '0';
    const telemetry = startTelemetry({ serviceName: 'order', serviceVersion: '1.0.0', env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint } });
    try {
      const tracer = trace.getTracer('test');
      const spans = Array.from({ length: 20 }, (_, i) => tracer.startSpan(`unsampled-${i}`));
      for (const span of spans) {
        expect(span.isRecording()).toBe(false);
        // Not sampled, but still a real context that logs and downstream calls can carry.
        expect(span.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
        span.end();
      }
      await telemetry.shutdown();
      expect(receiver.spans).toEqual([]);
    } finally {
      await receiver.stop();
    }
  });
});
