import type { Logger } from 'pino';
import { readRoutingRulesFile, type RoutingRules, type RoutingRulesSetting } from '../config/routing-rules-config';
import { watchRulesFileOf } from '../config/watched-rules-file';

/** The routing rules in force, and word when they change; resolvers read it on every update. */
export interface RoutingRulesSource {
  current(): RoutingRules;
  /** Called after each change. Returns unsubscribe. */
  subscribe(listener: () => void): () => void;
  close(): void;
}

/** Rules that never change (ROUTING_RULES, tests). */
export function staticRoutingRules(rules: RoutingRules = {}): RoutingRulesSource {
  return { current: () => rules, subscribe: () => () => undefined, close: () => undefined };
}

export interface RoutingRulesFileOptions {
  logger?: Logger;
  /** How often the file's modification time is checked. Default 1000 ms. */
  pollIntervalMs?: number;
}

/**
 * Rules read from `path` and read again when it changes, without a restart. A change is logged; a
 * file that became unreadable or wrong keeps the rules in force and logs why. Polls the file's
 * status, which also sees editors that replace the file and mounted config maps that swap a link.
 * The first read throws a ConfigError (start-up fails fast).
 */
export function watchRoutingRulesFile(path: string, options: RoutingRulesFileOptions = {}): RoutingRulesSource {
  const listeners = new Set<() => void>();
  const watched = watchRulesFileOf(path, readRoutingRulesFile(path), {
    read: readRoutingRulesFile,
    what: 'routing rules',
    same: (a, b) => JSON.stringify(a) === JSON.stringify(b),
    onReload: () => {
      for (const listener of [...listeners]) listener();
    },
    logger: options.logger,
    intervalMs: options.pollIntervalMs,
  });
  return {
    current: watched.current,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      watched.close();
      listeners.clear();
    },
  };
}

/** The source a RoutingRulesSetting describes: a watched file, fixed rules, or none. */
export function routingRulesSource(setting: RoutingRulesSetting, logger?: Logger): RoutingRulesSource {
  if (setting === undefined) return staticRoutingRules();
  if ('file' in setting) return watchRoutingRulesFile(setting.file, { logger });
  return staticRoutingRules(setting.rules);
}
