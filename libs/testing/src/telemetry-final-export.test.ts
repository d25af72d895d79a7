// The final flush at shutdown against a collector that takes connections and never answers.
// A file of its own: the OpenTelemetry API's global provider is set once per process (test file).
import { createServer, type Socket } from 'node:net';
import { SpanKind, trace } from '@opentelemetry/api';
import { FINAL_EXPORT_TIMEOUT_MS, startTelemetry } from '@switchyard/runtime';
import { eventually } from './eventually';

describe('startTelemetry shutdown', () => {
  it('gives up the final export after FINAL_EXPORT_TIMEOUT_MS when the collector accepts connections and never answers', async () => {
    // A collector host that is gone but still takes TCP connections: the exporter's own timeout is 10 s.
    const held: Socket[] = [];
    const blackHole = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    const { port } = blackHole.address() as { port: number };
    const telemetry = startTelemetry({ serviceName: 'registry', serviceVersion: '1', env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` } });
    try {
      trace.getTracer('test').startSpan('switchyard.registry.v1.RegistryService/Resolve', { kind: SpanKind.SERVER }).end();
      const started = performance.now();
      await expect(telemetry.shutdown()).resolves.toBe('timed out');
      // Far from the exporter's 10 s, with room for a busy machine.
      expect(performance.now() - started).toBeLessThan(FINAL_EXPORT_TIMEOUT_MS + 4000);
      expect(telemetry.spanCounts()).toMatchObject({ ended: 1, exported: 0 });
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => blackHole.close(resolve));
    }
    // The export given up on is still in flight; with its connection gone it fails. Let it finish
    // here: after the file's environment is torn down, its error handling cannot load its modules.
    await eventually(() => telemetry.spanCounts().failed === 1, 15_000, 'the abandoned export to fail');
  });
});
