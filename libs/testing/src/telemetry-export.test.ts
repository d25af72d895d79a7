// startTelemetry (from @switchyard/runtime) against a real OTLP/gRPC receiver: what main.ts
// starts in every app, checked where its spans land.
import { SpanKind, trace } from '@opentelemetry/api';
import { startTelemetry } from '@switchyard/runtime';
import { startOtlpReceiver } from './otlp-receiver';

describe('startTelemetry', () => {
  it('exports spans over OTLP/gRPC to OTEL_EXPORTER_OTLP_ENDPOINT with the service resource', async () => {
    const receiver = await startOtlpReceiver();
    const telemetry = startTelemetry({
      serviceName: 'user',
      serviceVersion: '9.9.9',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
    });
    try {
      expect(telemetry.exporting).toBe(true);
      const span = trace.getTracer('test').startSpan('switchyard.user.v1.UserService/GetUser', { kind: SpanKind.SERVER });
      expect(span.isRecording()).toBe(true);
      span.end();
      await expect(telemetry.shutdown()).resolves.toBe('flushed');
      const [received] = await receiver.waitForSpans((spans) => spans.length > 0, 5000);
      expect(received).toMatchObject({ name: 'switchyard.user.v1.UserService/GetUser', kindName: 'SERVER', traceId: span.spanContext().traceId });
      expect(received.resource).toMatchObject({
        'service.name': 'user',
        'service.version': '9.9.9',
        'service.instance.id': telemetry.instanceId,
      });
    } finally {
      await receiver.stop();
    }
  });

});
