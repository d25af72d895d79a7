import { z } from 'zod';

/** Whose bucket a call takes from: the verified subject (the address when there is none), or the client address. */
export type KeyKind = 'subject' | 'address';

export interface RateLimitRule {
  /** Tokens added per second. */
  rate: number;
  /** Bucket size: the most calls admitted at once after a quiet spell. */
  burst: number;
  by: KeyKind;
}

/** The limits in force; `methods` override `default` for their method. */
export interface RateLimitRules {
  default?: RateLimitRule;
  methods: Readonly<Record<string, RateLimitRule>>;
}

const ruleSchema = z.strictObject({
  rate: z.number({ error: 'expected a number of calls per second' }).positive('expected calls per second > 0').max(1_000_000, 'expected at most 1000000 calls per second'),
  burst: z.number({ error: 'expected a whole number of calls' }).int('expected a whole number of calls').min(1, 'expected at least 1 call').max(1_000_000, 'expected at most 1000000 calls'),
  by: z.enum(['subject', 'address'], { error: 'expected "subject" or "address"' }).default('subject'),
});

// The leading slash is optional, as in AUTH_PUBLIC_METHODS.
const METHOD_PATH = /^\/?[A-Za-z_][\w.]*\/[A-Za-z_]\w*$/;

const rulesSchema = z.strictObject({
  default: ruleSchema.optional(),
  methods: z
    .record(z.string().regex(METHOD_PATH, 'expected a full method path, e.g. /switchyard.user.v1.UserService/CreateUser'), ruleSchema)
    .default({}),
});

/** RATE_LIMITS (or the file's text) is not valid; the message names the field and what it expects. */
export class RateLimitRulesError extends Error {
  override name = 'RateLimitRulesError';
}

// methods["/switchyard.user.v1.UserService/CreateUser"].rate
function fieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((part, index) => (typeof part === 'string' && /^[A-Za-z_]\w*$/.test(part) ? `${index ? '.' : ''}${part}` : `[${JSON.stringify(String(part))}]`)).join('');
}

/**
 * Parses the JSON of RATE_LIMITS or RATE_LIMITS_FILE, e.g.
 * `{"default":{"rate":10,"burst":20,"by":"subject"},"methods":{"/switchyard.user.v1.UserService/CreateUser":{"rate":1,"burst":5,"by":"address"}}}`.
 * `by` defaults to "subject". Throws a RateLimitRulesError naming each bad field.
 */
export function parseRateLimitRules(text: string): RateLimitRules {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RateLimitRulesError(`not valid JSON (${(error as Error).message})`);
  }
  const result = rulesSchema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      // zod reports a bad record key as "Invalid key in record"; the key's own issue says why.
      const message = issue.code === 'invalid_key' && issue.issues[0] ? issue.issues[0].message : issue.message;
      return `${fieldPath(issue.path)}: ${message}`;
    });
    throw new RateLimitRulesError(problems.join('; '));
  }
  const methods = Object.fromEntries(Object.entries(result.data.methods).map(([method, rule]) => [method.startsWith('/') ? method : `/${method}`, rule]));
  return Object.freeze({ default: result.data.default, methods: Object.freeze(methods) });
}

/** Throws a RateLimitRulesError naming each rule for a method not in `served`: a typo would leave that method unlimited. */
export function checkRuleMethods(rules: RateLimitRules, served: ReadonlySet<string>): void {
  const unknown = Object.keys(rules.methods).filter((method) => !served.has(method));
  if (unknown.length > 0) throw new RateLimitRulesError(unknown.map((method) => `${fieldPath(['methods', method])}: the gateway serves no such method`).join('; '));
}

/** The rule of `method`, and its name for messages: the method path, or "default". */
export function ruleFor(rules: RateLimitRules, method: string): { name: string; rule: RateLimitRule } | undefined {
  const own = rules.methods[method];
  if (own) return { name: method, rule: own };
  return rules.default ? { name: 'default', rule: rules.default } : undefined;
}
