import { unwatchFile, watchFile, type Stats } from 'node:fs';
import type { Logger } from '@switchyard/runtime';
import { readRulesFile } from './rate-limit-config';
import type { RateLimitRules } from './rate-limit-rules';

export interface RulesFileWatch {
  current(): RateLimitRules;
  close(): void;
}

/**
 * Follows RATE_LIMITS_FILE: each change is read and, when valid, replaces the rules (logged); an
 * invalid or unreadable file keeps the rules in force and logs why. Polls the file's stat rather
 * than using inotify, which misses editors' rename-over and Kubernetes ConfigMap symlink swaps.
 */
export function watchRulesFile(
  path: string,
  initial: RateLimitRules,
  options: { logger: Logger; intervalMs?: number; /** Throws a RateLimitRulesError for rules to refuse. */ check?: (rules: RateLimitRules) => void },
): RulesFileWatch {
  let rules = initial;
  const onChange = (now: Stats, before: Stats) => {
    if (now.mtimeMs === before.mtimeMs && now.size === before.size && now.ino === before.ino) return;
    try {
      const read = readRulesFile(path);
      options.check?.(read);
      rules = read;
      options.logger.info({ file: path, rules }, 'rate limits reloaded');
    } catch (error) {
      options.logger.warn({ file: path, reason: (error as Error).message }, 'rate limits file rejected; the rules in force stay');
    }
  };
  watchFile(path, { interval: options.intervalMs ?? 1000, persistent: false }, onChange);
  return { current: () => rules, close: () => unwatchFile(path, onChange) };
}
