// The built registry app (dist/apps/registry/main.js, its own env) in a host process:
// `node --expose-gc dist/bench/registry-load/registry-host.js '<json RegistryHostSpec>'`. The host only loads
// the app, as server-child.ts does, and answers over IPC: `usage` (CPU time, RSS and heap bytes
// allocated so far; event-loop delay and GC pauses since the last usage) and `memory`
// (the heap right after two full GCs, so growth per registered instance is the retained
// size, not garbage waiting for a collection). `stop` sends the app its own SIGTERM.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { HeapAllocationMeter } from '../heap-allocation-meter';
import { loadBuiltApp } from '../servers/load-built-app';
import { GcPauseMeter } from './gc-pause-meter';
import type { HarnessToHost, HostToHarness, RegistryHostSpec } from './registry-messages';

function tell(message: HostToHarness): void {
  process.send?.(message);
}

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('registry-host needs node --expose-gc');
  // Twice: the first run's finalizers and weak callbacks can free more on the second.
  gc();
  gc();
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as RegistryHostSpec;
  await loadBuiltApp(spec.main, spec.port);
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const gcPauses = new GcPauseMeter();
  const allocation = HeapAllocationMeter.ofProcess();
  process.on('message', (message: HarnessToHost) => {
    if (message.type === 'usage') {
      const cpu = process.cpuUsage();
      const [loopDelayP99Ms, loopDelayMaxMs] = [loopDelay.percentile(99), loopDelay.max].map((ns) => Math.round(ns / 1e4) / 100);
      loopDelay.reset();
      tell({ type: 'usage', userUs: cpu.user, systemUs: cpu.system, rssBytes: process.memoryUsage.rss(), heapAllocatedBytes: allocation.allocatedBytes(), loopDelayP99Ms, loopDelayMaxMs, gc: gcPauses.take() });
    } else if (message.type === 'memory') {
      collectGarbage();
      const memory = process.memoryUsage();
      tell({ type: 'memory', heapUsedBytes: memory.heapUsed, rssBytes: memory.rss, externalBytes: memory.external });
    } else {
      // The app's own SIGTERM handler ends the Watch streams, stops the server and exits.
      process.kill(process.pid, 'SIGTERM');
    }
  });
  process.on('disconnect', () => process.exit(0));
  tell({ type: 'ready', port: spec.port });
}

main().catch((error: unknown) => {
  tell({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
});
