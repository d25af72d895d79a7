import { Writable } from 'node:stream';
import { trace } from '@opentelemetry/api';
import pino from 'pino';
import { installInMemoryTracing } from '../telemetry/in-memory-tracing.test-support';
import { createLogger } from './create-logger';

const tracing = installInMemoryTracing();
afterAll(() => tracing.uninstall());

/** Runs createLogger's settings against an in-memory stream and returns the parsed lines. */
function captureLines(log: (logger: pino.Logger) => void): Record<string, unknown>[] {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ service: 'user', level: 'info', format: 'json', base: { instance_id: 'i-1' } }, sink);
  log(logger);
  return chunks.join('').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('createLogger', () => {
  it('hides authorization metadata, tokens and passwords if a line ever carries them', () => {
    const [line] = captureLines((logger) =>
      logger.info({ authorization: 'Bearer t0ken', metadata: { authorization: 'Bearer t0ken' }, password: 'pw', config: { databaseUrl: 'postgres://a:pw@db/x' } }, 'careless'),
    );
    expect(JSON.stringify(line)).not.toMatch(/t0ken|pw/);
    expect(line).toMatchObject({ authorization: '(hidden)', metadata: { authorization: '(hidden)' }, password: '(hidden)', config: { databaseUrl: '(hidden)' } });
  });

  it('adds trace_id and span_id to lines written inside a span', () => {
    const tracer = trace.getTracer('test');
    let expected = { traceId: '', spanId: '' };
    const lines = captureLines((logger) => {
      logger.info('outside');
      tracer.startActiveSpan('work', (span) => {
        expected = span.spanContext();
        logger.info({ method: '/x/Y' }, 'inside');
        span.end();
      });
    });
    expect(lines[0]).not.toHaveProperty('trace_id');
    expect(lines[0]).toMatchObject({ msg: 'outside', service: 'user', instance_id: 'i-1' });
    expect(lines[1]).toMatchObject({ msg: 'inside', method: '/x/Y', trace_id: expected.traceId, span_id: expected.spanId });
    expect(expected.traceId).toMatch(/^[0-9a-f]{32}$/);
  });
});
