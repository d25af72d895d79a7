// A server under load, in its own process: `node dist/bench/server-child.js '<json ServerSpec>'`.
// Reports `ready` with its port, answers `usage` with its own CPU time, RSS and heap bytes allocated so far, stops on `stop`.
import type { HarnessToServer, ServerSpec, ServerToHarness, SpanReport } from './bench-messages';
import { HeapAllocationMeter } from './heap-allocation-meter';
import { loadBuiltApp } from './servers/load-built-app';

function tell(message: ServerToHarness): void {
  process.send?.(message);
}

/** Runs a built app in this process, so its CPU time and RSS can be reported like the others'. */
async function startApp(spec: Extract<ServerSpec, { kind: 'app' }>): Promise<{ port: number; stop(): Promise<void> }> {
  await loadBuiltApp(spec.main, spec.port);
  // The app's own SIGTERM handler drains, stops and exits.
  return { port: spec.port, stop: () => new Promise<void>(() => process.kill(process.pid, 'SIGTERM')) };
}

/** A server under load; `spanReport` when it exports spans and counts them (Switchyard's). */
interface RunningServer {
  port: number;
  stop(): Promise<void>;
  spanReport?(): SpanReport | undefined;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ServerSpec;
  const allocation = HeapAllocationMeter.ofProcess();
  // Imported on demand, so the baseline process loads no Switchyard code (RSS, start-up).
  const server: RunningServer =
    spec.kind === 'baseline-user'
      ? await (await import('./servers/baseline-user-server')).startBaselineUserServer()
      : spec.kind === 'switchyard-user'
        ? await (await import('./servers/switchyard-user-server')).startSwitchyardUserServer(spec.register)
        : spec.kind === 'peer'
          ? await (await import('./servers/start-peer-server')).startPeerServer(spec)
          : await startApp(spec);
  process.on('message', (message: HarnessToServer) => {
    if (message.type === 'usage') {
      const cpu = process.cpuUsage();
      tell({ type: 'usage', userUs: cpu.user, systemUs: cpu.system, rssBytes: process.memoryUsage.rss(), heapAllocatedBytes: allocation.allocatedBytes() });
    } else if (message.type === 'stop') {
      void server.stop().then(() => {
        const spans = server.spanReport?.();
        // Exit once the message is out: spans flushed, counts final.
        if (process.send) process.send({ type: 'stopped', spans } satisfies ServerToHarness, () => process.exit(0));
        else process.exit(0);
      });
    }
  });
  // The harness going away ends the server too.
  process.on('disconnect', () => process.exit(0));
  tell({ type: 'ready', port: server.port });
}

main().catch((error: unknown) => {
  tell({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
});
