import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startOtlpReceiver, type OtlpReceiver } from './otlp-receiver';

let receiver: OtlpReceiver;
let provider: BasicTracerProvider;

beforeEach(async () => {
  receiver = await startOtlpReceiver();
  provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'user', 'service.instance.id': 'user-1', 'service.version': '1.2.3' }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: receiver.endpoint }))],
  });
});

afterEach(async () => {
  await provider.shutdown();
  await receiver.stop();
});

it('receives what the real OTLP/gRPC exporter sends: ids, parent links, kinds, attributes, status and resource', async () => {
  const tracer = provider.getTracer('switchyard-test', '0.1.0');
  const server = tracer.startSpan('switchyard.user.v1.UserService/GetUser', {
    kind: SpanKind.SERVER,
    attributes: { 'rpc.system': 'grpc', 'rpc.grpc.status_code': 5, retried: false, ratio: 0.5, tags: ['a', 'b'] },
  });
  const client = tracer.startSpan('db.query', { kind: SpanKind.CLIENT }, trace.setSpan(context.active(), server));
  client.addEvent('row.missing', { 'user.id': 'nobody' });
  client.end();
  server.setStatus({ code: SpanStatusCode.ERROR, message: 'user nobody not found' });
  server.end();
  await provider.forceFlush();

  const spans = await receiver.waitForSpans((received) => received.length >= 2);
  const serverSpan = spans.find((span) => span.name === 'switchyard.user.v1.UserService/GetUser');
  const clientSpan = spans.find((span) => span.name === 'db.query');

  expect(serverSpan).toMatchObject({
    traceId: server.spanContext().traceId,
    spanId: server.spanContext().spanId,
    parentSpanId: '',
    kind: 2,
    kindName: 'SERVER',
    attributes: { 'rpc.system': 'grpc', 'rpc.grpc.status_code': 5, retried: false, ratio: 0.5, tags: ['a', 'b'] },
    status: { code: 2, message: 'user nobody not found' },
    resource: { 'service.name': 'user', 'service.instance.id': 'user-1', 'service.version': '1.2.3' },
    scope: { name: 'switchyard-test', version: '0.1.0' },
  });
  expect(serverSpan?.traceId).toMatch(/^[0-9a-f]{32}$/);
  expect(serverSpan?.spanId).toMatch(/^[0-9a-f]{16}$/);
  expect(serverSpan!.endTimeUnixNano).toBeGreaterThanOrEqual(serverSpan!.startTimeUnixNano);

  expect(clientSpan).toMatchObject({
    traceId: server.spanContext().traceId,
    spanId: client.spanContext().spanId,
    parentSpanId: server.spanContext().spanId,
    kind: 3,
    kindName: 'CLIENT',
    status: { code: 0 },
    events: [{ name: 'row.missing', attributes: { 'user.id': 'nobody' } }],
  });
});

it('times out with what it did receive', async () => {
  await expect(receiver.waitForSpans((spans) => spans.some((span) => span.name === 'never'), 50)).rejects.toThrow(
    /condition not met in 50 ms; received 0 span/,
  );
});
