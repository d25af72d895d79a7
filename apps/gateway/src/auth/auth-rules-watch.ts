import { ConfigError, watchRulesFileOf, type Logger } from '@switchyard/runtime';
import type { AuthConfig } from './auth-config';
import { AuthRulesError, describeAuthRules, readAuthRulesFile, type AuthRules } from './auth-rules-file';

export interface EdgeAuthRules {
  /** The rules in force now. */
  current(): AuthRules;
  close(): void;
}

/**
 * The public methods and role rules auth applies: from AUTH_PUBLIC_METHODS and AUTH_METHOD_ROLES,
 * fixed; or from AUTH_RULES_FILE, read at start (a bad file stops the gateway, naming the variable)
 * and again whenever it changes (a bad file then keeps the rules in force and logs why).
 */
export function edgeAuthRules(config: AuthConfig, servedMethods: Iterable<string>, logger: Logger, options: { intervalMs?: number } = {}): EdgeAuthRules {
  if (config.rulesFile === undefined) {
    const fixed: AuthRules = { publicMethods: config.publicMethods, methodRoles: config.methodRoles };
    return { current: () => fixed, close: () => undefined };
  }
  const served = new Set(servedMethods);
  let initial: AuthRules;
  try {
    initial = readAuthRulesFile(config.rulesFile, served);
  } catch (error) {
    if (!(error instanceof AuthRulesError)) throw error;
    throw new ConfigError(`invalid configuration:\n  AUTH_RULES_FILE: ${error.message}\nFix the file (or the variable) and start again.`);
  }
  return watchRulesFileOf(config.rulesFile, initial, {
    what: 'auth rules',
    logger,
    intervalMs: options.intervalMs,
    read: (path) => readAuthRulesFile(path, served),
    describe: describeAuthRules,
  });
}
