import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, parseEnv } from './env-config';

/** How calls to one service are split between the versions its instances registered (SERVICE_VERSION). */
export interface RoutingRule {
  /** Call metadata whose value pins the version, e.g. `x-canary: 0.2.0`; it wins over `weights`. Default `x-canary`. */
  header: string;
  /**
   * Percent of calls (0 to 100, summing to at most 100) sent to each version (`0.2.0`, or `0.2`
   * for every 0.2.x) or metadata entry (`track=canary`); the rest go to the others.
   */
  weights: Readonly<Record<string, number>>;
  /** Split by a hash of the caller's `x-switchyard-subject`, so one subject stays on one version. Default false (per call). */
  sticky: boolean;
}

/** Routing rules by service name, e.g. `{ "user": { "weights": { "0.2.0": 10 } } }`. */
export type RoutingRules = Readonly<Record<string, RoutingRule>>;

export const DEFAULT_CANARY_HEADER = 'x-canary';

// The gateway passes the pinning header on to the services it calls: never one that carries a
// credential or that gRPC, HTTP/2 or the gateway's identity headers (x-switchyard-*) own.
const RESERVED_HEADERS = new Set(['authorization', 'cookie', 'content-type', 'te', 'user-agent', 'host']);
const isPlainHeader = (key: string) => !RESERVED_HEADERS.has(key) && !key.startsWith('grpc-') && !key.startsWith('x-switchyard-') && !key.endsWith('-bin');

const ruleSchema = z
  .strictObject({
    header: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_.-]*$/, 'expected a lower-case metadata key, e.g. "x-canary"')
      .refine(isPlainHeader, 'expected a header of its own, e.g. "x-canary" (not authorization, cookie, grpc-*, x-switchyard-* or *-bin)')
      .default(DEFAULT_CANARY_HEADER),
    weights: z
      .record(z.string().min(1, 'expected a version, e.g. "0.2.0"'), z.number({ error: 'expected a percent' }).min(0, 'expected a percent from 0 to 100').max(100, 'expected a percent from 0 to 100'))
      .default({})
      .refine((weights) => Object.values(weights).reduce((sum, weight) => sum + weight, 0) <= 100, 'the weights add up to more than 100 percent'),
    sticky: z.boolean({ error: 'expected true or false' }).default(false),
  })
  .transform((rule) => Object.freeze({ ...rule, weights: Object.freeze(rule.weights) }));

const rulesSchema = z.record(z.string().min(1, 'expected a service name, e.g. "user"'), ruleSchema);

/**
 * Parses routing rules (JSON text) from `source` (a variable or file name, quoted in errors).
 * Throws a ConfigError naming `source` and each bad field; unknown fields are errors, so a typo
 * does not pass silently.
 */
export function parseRoutingRules(text: string, source: string): RoutingRules {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`invalid configuration:\n  ${source}: not JSON (${(error as Error).message}); expected e.g. {"user":{"weights":{"0.2.0":10},"sticky":true}}`);
  }
  const result = rulesSchema.safeParse(json);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${source} at ${issue.path.map(String).join('.') || '(top)'}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}\nFix the routing rules and start again.`);
  }
  return Object.freeze(result.data);
}

/** Reads and parses a rules file; throws a ConfigError naming it when it cannot be read or is wrong. */
export function readRoutingRulesFile(path: string): RoutingRules {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`invalid configuration:\n  ROUTING_RULES_FILE=${JSON.stringify(path)}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  return parseRoutingRules(text, `ROUTING_RULES_FILE=${JSON.stringify(path)}`);
}

/** ROUTING_RULES (JSON) or ROUTING_RULES_FILE (JSON, reloaded on change): at most one of them. */
export type RoutingRulesSetting = { rules: RoutingRules } | { file: string } | undefined;

export function loadRoutingRulesSetting(env: Record<string, string | undefined> = process.env): RoutingRulesSetting {
  const parsed = parseEnv({ ROUTING_RULES: z.string().optional(), ROUTING_RULES_FILE: z.string().optional() }, env);
  if (parsed.ROUTING_RULES !== undefined && parsed.ROUTING_RULES_FILE !== undefined) {
    throw new ConfigError('invalid configuration:\n  ROUTING_RULES and ROUTING_RULES_FILE are both set: keep one (the file is reloaded when it changes)');
  }
  if (parsed.ROUTING_RULES_FILE !== undefined) {
    readRoutingRulesFile(parsed.ROUTING_RULES_FILE); // fail fast on a bad file
    return { file: parsed.ROUTING_RULES_FILE };
  }
  if (parsed.ROUTING_RULES !== undefined) return { rules: parseRoutingRules(parsed.ROUTING_RULES, 'ROUTING_RULES') };
  return undefined;
}

/**
 * The metadata keys that pin a version under `setting` at start-up (always DEFAULT_CANARY_HEADER):
 * what an edge passes on from its callers. A header renamed in a reloaded file needs a restart.
 */
export function routingHeaderNames(setting: RoutingRulesSetting): string[] {
  const rules = setting === undefined ? {} : 'file' in setting ? readRoutingRulesFile(setting.file) : setting.rules;
  return [...new Set([DEFAULT_CANARY_HEADER, ...Object.values(rules).map((rule) => rule.header)])];
}
