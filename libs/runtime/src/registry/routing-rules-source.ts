import { unwatchFile, watchFile } from 'node:fs';
import type { Logger } from 'pino';
import { readRoutingRulesFile, type RoutingRules, type RoutingRulesSetting } from '../config/routing-rules-config';

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
  let rules = readRoutingRulesFile(path);
  const listeners = new Set<() => void>();
  const reload = () => {
    let next: RoutingRules;
    try {
      next = readRoutingRulesFile(path);
    } catch (error) {
      options.logger?.warn({ routing_rules_file: path, err: error }, 'routing rules file rejected; keeping the rules in force');
      return;
    }
    if (JSON.stringify(next) === JSON.stringify(rules)) return;
    rules = next;
    options.logger?.info({ routing_rules_file: path, routing_rules: rules }, 'routing rules reloaded');
    for (const listener of [...listeners]) listener();
  };
  const onChange = () => reload();
  watchFile(path, { interval: options.pollIntervalMs ?? 1000, persistent: false }, onChange);
  return {
    current: () => rules,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      unwatchFile(path, onChange);
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
