import { watchRulesFileOf, type Logger, type WatchedRulesFile } from '@switchyard/runtime';
import { readRulesFile } from './rate-limit-config';
import type { RateLimitRules } from './rate-limit-rules';

export type RulesFileWatch = WatchedRulesFile<RateLimitRules>;

/** Follows RATE_LIMITS_FILE (see watchRulesFileOf): valid changes replace the rules, bad ones are logged and ignored. */
export function watchRulesFile(
  path: string,
  initial: RateLimitRules,
  options: { logger: Logger; intervalMs?: number; /** Throws a RateLimitRulesError for rules to refuse. */ check?: (rules: RateLimitRules) => void },
): RulesFileWatch {
  return watchRulesFileOf(path, initial, {
    what: 'rate limits',
    logger: options.logger,
    intervalMs: options.intervalMs,
    read(file) {
      const rules = readRulesFile(file);
      options.check?.(rules);
      return rules;
    },
  });
}
