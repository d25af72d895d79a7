// Test support (not a test): a real registry server on a chosen or ephemeral loopback port,
// and polling with a deadline instead of sleeps.
import { createServer } from 'node:net';
import { serve } from '@switchyard/runtime';
import { startEvictionSweep } from './eviction-sweep';
import { LeaseTable, type LeaseTableOptions } from './lease-table';
import { createRegistryService } from './registry-handlers';

export interface TestRegistry {
  address: string;
  port: number;
  store: LeaseTable;
  /** Stops at once, cutting open streams. */
  stop(): void;
}

export async function startRegistry(options: LeaseTableOptions & { port?: number; token?: string; sweepIntervalMs?: number } = {}): Promise<TestRegistry> {
  const store = new LeaseTable(options);
  const shutdown = new AbortController();
  const service = createRegistryService({ store, token: options.token, shutdownSignal: shutdown.signal });
  const { server, port } = await serve([service], {
    host: '127.0.0.1',
    port: options.port ?? 0,
    // grpc-js 1.14.7 only tracks sessions for forceShutdown() when channelz is on; with the
    // runtime's default (off) a "stopped" server keeps answering on connections already open.
    serverOptions: { 'grpc.enable_channelz': 1 },
  });
  const stopSweep = startEvictionSweep(store, options.sweepIntervalMs ?? 50);
  return {
    address: `127.0.0.1:${port}`,
    port,
    store,
    stop() {
      stopSweep();
      shutdown.abort();
      server.forceShutdown();
    },
  };
}

/** A loopback port that nothing listens on (just now). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Polls `probe` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
