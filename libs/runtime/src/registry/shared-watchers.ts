import type { registryV1 } from '@switchyard/proto';
import type { InstancesListener, WatchErrorListener } from './registry-watcher';

/** What a resolver needs from a watch of one service; RegistryWatcher provides it. */
export interface InstanceWatch {
  readonly serviceName: string;
  /** The registry it watches now, or tries next while the watch is down. */
  readonly registryAddress: string;
  /** undefined until the first snapshot */
  instances(): registryV1.Instance[] | undefined;
  /** Why the watch is down, while it is. */
  error(): Error | undefined;
  subscribe(listener: InstancesListener, onError?: WatchErrorListener): () => void;
}

/** Hands out watches by service name; each `acquire` is paired with one `release`. */
export interface WatcherSource {
  acquire(serviceName: string): { watch: InstanceWatch; release(): void };
  /** Ends every watch. */
  close(): void;
}

/**
 * One watch per service name however many channels resolve it: created by the first acquire,
 * closed by the last release.
 */
export function createSharedWatchers(open: (serviceName: string) => InstanceWatch & { close(): void }): WatcherSource {
  const entries = new Map<string, { watch: InstanceWatch & { close(): void }; users: number }>();
  return {
    acquire(serviceName) {
      let entry = entries.get(serviceName);
      if (!entry) entries.set(serviceName, (entry = { watch: open(serviceName), users: 0 }));
      entry.users += 1;
      const held = entry;
      let released = false;
      return {
        watch: held.watch,
        release() {
          if (released) return;
          released = true;
          held.users -= 1;
          if (held.users === 0 && entries.get(serviceName) === held) {
            entries.delete(serviceName);
            held.watch.close();
          }
        },
      };
    },
    close() {
      for (const entry of entries.values()) entry.watch.close();
      entries.clear();
    },
  };
}
