// The built registry stopped while its collector takes connections and never answers (compose
// stopping Jaeger first, a collector host gone): the stop stays clean and bounded.
import { createServer, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { connectReflection, freePort } from '@switchyard/testing';
import { AppProcess } from './app-process';

const workspaceRoot = resolve(__dirname, '../../..');
jest.setTimeout(60_000);

describe('final span export at shutdown', () => {
  it('gives up after about 2 s, says how many spans were lost and exits 0', async () => {
    const held: Socket[] = [];
    const blackHole = createServer((socket) => held.push(socket));
    await new Promise<void>((done) => blackHole.listen(0, '127.0.0.1', done));
    const { port: collectorPort } = blackHole.address() as { port: number };
    const grpcPort = await freePort();
    const registry = new AppProcess({
      workspaceRoot,
      app: 'registry',
      env: {
        GRPC_PORT: String(grpcPort),
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collectorPort}`,
        // Spans stay queued until the final flush.
        OTEL_BSP_SCHEDULE_DELAY: '600000',
      },
    });
    try {
      await registry.waitUntilServing(`127.0.0.1:${grpcPort}`);
      const client = connectReflection(`127.0.0.1:${grpcPort}`);
      await client.invoke('switchyard.registry.v1.RegistryService/Resolve', { serviceName: 'user' });
      client.close();

      const stopped = performance.now();
      const { code } = await registry.stop('SIGTERM');
      const stopMs = performance.now() - stopped;

      expect(code).toBe(0);
      expect(registry.lines.join('\n')).not.toContain('shutdown failed');
      const lost = registry.lines
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((entry) => entry.final_export === 'timed out');
      expect(lost).toMatchObject({ spans_exported: 0, msg: expect.stringContaining('spans not delivered') });
      expect(lost!.spans_ended as number).toBeGreaterThan(0);
      // The exporter alone would wait 10 s; a generous margin for a busy machine.
      expect(stopMs).toBeLessThan(8000);
    } finally {
      await registry.stop('SIGKILL');
      for (const socket of held) socket.destroy();
      await new Promise((done) => blackHole.close(done));
    }
  });
});
