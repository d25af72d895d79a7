import { unwatchFile, watchFile, type Stats } from 'node:fs';
import type { Logger } from 'pino';

export interface WatchedRulesFile<T> {
  current(): T;
  close(): void;
}

export interface WatchedRulesFileOptions<T> {
  /** Reads and validates the file; throws, saying why, for a file to refuse. */
  read(path: string): T;
  /** Said in the log lines: `<what> reloaded`, `<what> file rejected`. */
  what: string;
  /** What the reload log line shows of the new rules. */
  describe?(rules: T): unknown;
  /** Called after the rules were replaced. */
  onReload?(rules: T): void;
  /** Rules read again that equal those in force are no change: not logged, no onReload. Default: never equal. */
  same?(a: T, b: T): boolean;
  /** Where reloads and rejections are logged; tests may leave it out. */
  logger?: Logger;
  intervalMs?: number;
}

/**
 * Follows an operator's rules file: each change is read and, when valid, replaces the rules
 * (logged); an invalid or unreadable file keeps the rules in force and logs why. Polls the file's
 * stat rather than using inotify, which misses editors' rename-over and Kubernetes ConfigMap
 * symlink swaps.
 */
export function watchRulesFileOf<T>(path: string, initial: T, options: WatchedRulesFileOptions<T>): WatchedRulesFile<T> {
  let rules = initial;
  const onChange = (now: Stats, before: Stats) => {
    if (now.mtimeMs === before.mtimeMs && now.size === before.size && now.ino === before.ino) return;
    try {
      const read = options.read(path);
      if (options.same?.(read, rules)) return;
      rules = read;
      options.logger?.info({ file: path, rules: options.describe ? options.describe(read) : read }, `${options.what} reloaded`);
      options.onReload?.(read);
    } catch (error) {
      options.logger?.warn({ file: path, reason: (error as Error).message }, `${options.what} file rejected; the rules in force stay`);
    }
  };
  watchFile(path, { interval: options.intervalMs ?? 1000, persistent: false }, onChange);
  return { current: () => rules, close: () => unwatchFile(path, onChange) };
}
