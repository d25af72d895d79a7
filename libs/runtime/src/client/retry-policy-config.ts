import { status as Status } from '@grpc/grpc-js';
import { z } from 'zod';
import { ConfigError } from '../config/env-config';
import type { BackupBudgetOptions } from './backup-budget';
import type { BackupDelayOptions } from './backup-delay';
import type { HedgingPolicy, MethodPolicyOverride, RetryPolicyTable } from './retry-policy';
import type { RetryThrottleOptions } from './retry-throttle';

/** Retry policies by method plus the per-target throttle: what RETRY_POLICY configures. */
export interface RetryPolicyConfig extends RetryPolicyTable {
  /** gRFC A6 retry throttling, one bucket per target. Unset: DEFAULT_RETRY_THROTTLING; false: none. */
  retryThrottling?: RetryThrottleOptions | false;
  /** Backup attempts of idempotent methods. Unset: DEFAULT_BACKUP_DELAY and DEFAULT_BACKUP_BUDGET; false: none. */
  backupAttempts?: { delay?: Partial<BackupDelayOptions>; budget?: Partial<BackupBudgetOptions> } | false;
}

const VARIABLE = 'RETRY_POLICY';

// A status by name ("UNAVAILABLE", as gRFC A6 writes them) or number (14); OK is never retryable.
const statusCode = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const code = typeof value === 'number' ? value : (Status as unknown as Record<string, number | undefined>)[value];
  if (typeof code !== 'number' || !Number.isInteger(code) || Status[code] === undefined || code === Status.OK) {
    ctx.addIssue({ code: 'custom', message: 'expected a gRPC status other than OK, e.g. "UNAVAILABLE" or 14' });
    return z.NEVER;
  }
  return code as Status;
});

const positiveMs = z.number({ error: 'expected milliseconds' }).positive('expected milliseconds > 0');
const attempts = z.number({ error: 'expected a number of attempts' }).int('expected a whole number').min(1, 'expected at least 1 (values above 5 count as 5)');

const hedgingSchema = z.strictObject({
  maxAttempts: attempts,
  hedgingDelayMs: z.number({ error: 'expected milliseconds' }).min(0, 'expected milliseconds >= 0').default(0),
  nonFatalStatusCodes: z.array(statusCode).default([]),
});

const entrySchema = z.strictObject({
  maxAttempts: attempts.optional(),
  initialBackoffMs: positiveMs.optional(),
  maxBackoffMs: positiveMs.optional(),
  backoffMultiplier: z.number({ error: 'expected a number' }).positive('expected a multiplier > 0').optional(),
  retryableStatusCodes: z.array(statusCode).min(1, 'expected at least one status code').optional(),
  hedging: z.union([z.literal(false), hedgingSchema], { error: 'expected false or { maxAttempts, hedgingDelayMs?, nonFatalStatusCodes? }' }).optional(),
});

const configSchema = z.strictObject({
  default: entrySchema.optional(),
  services: z.record(z.string().regex(/^[\w.]+$/, 'expected a full service name, e.g. switchyard.user.v1.UserService'), entrySchema).optional(),
  methods: z.record(z.string().regex(/^\/[\w.]+\/\w+$/, 'expected a method path, e.g. /switchyard.user.v1.UserService/GetUser'), entrySchema).optional(),
  retryThrottling: z
    .union(
      [
        z.literal(false),
        z.strictObject({
          maxTokens: z.number({ error: 'expected a number' }).positive('expected maxTokens in (0, 1000]').max(1000, 'expected maxTokens in (0, 1000]'),
          tokenRatio: z.number({ error: 'expected a number' }).positive('expected tokenRatio > 0'),
        }),
      ],
      { error: 'expected false or { maxTokens, tokenRatio }' },
    )
    .optional(),
  backupAttempts: z
    .union(
      [
        z.literal(false),
        z.strictObject({
          quantile: z.number({ error: 'expected a number' }).gt(0, 'expected a quantile in (0, 1)').lt(1, 'expected a quantile in (0, 1)').optional(),
          minDelayMs: positiveMs.optional(),
          maxDelayMs: positiveMs.optional(),
          ratio: z.number({ error: 'expected a number' }).min(0, 'expected a ratio in [0, 1]').max(1, 'expected a ratio in [0, 1]').optional(),
          reserve: z.number({ error: 'expected a number' }).min(1, 'expected reserve >= 1').optional(),
        }),
      ],
      { error: 'expected false or { quantile?, minDelayMs?, maxDelayMs?, ratio?, reserve? }' },
    )
    .optional(),
});

type Entry = z.infer<typeof entrySchema>;

const defined = <T extends object>(value: T): Partial<T> => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;

function toOverride(entry: Entry): MethodPolicyOverride {
  const hedging: HedgingPolicy | false | undefined =
    entry.hedging === undefined || entry.hedging === false
      ? entry.hedging
      : { maxAttempts: entry.hedging.maxAttempts, hedgingDelayMs: entry.hedging.hedgingDelayMs, nonFatalCodes: new Set(entry.hedging.nonFatalStatusCodes) };
  return {
    maxAttempts: entry.maxAttempts,
    initialBackoffMs: entry.initialBackoffMs,
    maxBackoffMs: entry.maxBackoffMs,
    backoffMultiplier: entry.backoffMultiplier,
    retryableCodes: entry.retryableStatusCodes && new Set(entry.retryableStatusCodes),
    hedging,
  };
}

const mapValues = <T, U>(record: Record<string, T> | undefined, map: (value: T) => U) =>
  record && Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(value)]));

// `methods["/a.B/C"].retryableStatusCodes[1]`
function fieldName(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : (path[i - 1] === 'services' || path[i - 1] === 'methods') ? `[${JSON.stringify(key)}]` : `${i === 0 ? '' : '.'}${String(key)}`))
    .join('');
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((value, key) => (value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined), root);
}

/**
 * `false or { ... }` fields fail as a whole union; when the value was an object with bad fields,
 * report those fields (`retryThrottling.tokenRatio = (unset)`) instead.
 */
function withUnionsExplained(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== 'invalid_union') return [issue];
    const objectBranch = issue.errors.find((branch) => branch.length > 0 && branch.every((inner) => inner.path.length > 0));
    if (!objectBranch) return [issue];
    return withUnionsExplained(objectBranch.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] })));
  });
}

/**
 * Parses the RETRY_POLICY environment variable (JSON; unset or empty means none). Shape, every
 * part optional, durations in ms, status codes by name or number:
 *
 * ```json
 * {
 *   "default": { "maxAttempts": 3, "initialBackoffMs": 100, "maxBackoffMs": 2000, "backoffMultiplier": 2,
 *                "retryableStatusCodes": ["UNAVAILABLE"] },
 *   "services": { "switchyard.user.v1.UserService": { "maxAttempts": 4 } },
 *   "methods": { "/switchyard.user.v1.UserService/GetUser": {
 *                  "hedging": { "maxAttempts": 3, "hedgingDelayMs": 50, "nonFatalStatusCodes": ["UNAVAILABLE"] } } },
 *   "retryThrottling": { "maxTokens": 10, "tokenRatio": 0.1 },
 *   "backupAttempts": { "quantile": 0.99, "minDelayMs": 10, "maxDelayMs": 1000, "ratio": 0.1, "reserve": 50 }
 * }
 * ```
 *
 * Backup attempts are on by default for idempotent methods (DEFAULT_BACKUP_DELAY,
 * DEFAULT_BACKUP_BUDGET); `"backupAttempts": false` turns them off.
 * Throttling is on by default (DEFAULT_RETRY_THROTTLING); `"retryThrottling": false` turns it off.
 * A method follows its `methods` entry, then its service's, then `default`, field by field;
 * maxAttempts above 5 counts as 5 (gRFC A6); `"hedging": false` undoes a less specific hedging.
 * Unknown fields are errors, so a typo does not pass silently. Throws a ConfigError naming
 * RETRY_POLICY and each bad field.
 */
export function parseRetryPolicy(value: string | undefined): RetryPolicyConfig | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch (error) {
    throw new ConfigError(`invalid configuration:\n  ${VARIABLE}: not valid JSON (${(error as Error).message})\nFix this environment variable and start again.`);
  }
  const result = configSchema.safeParse(json);
  if (!result.success) {
    const lines = withUnionsExplained(result.error.issues).map((issue) => {
      const field = issue.path.length === 0 ? '(the whole value)' : fieldName(issue.path);
      // A bad key (e.g. a method path without its leading slash) is named by the path; the value does not matter.
      if (issue.code === 'invalid_key') return `  ${VARIABLE}: ${field}: ${issue.issues[0]?.message ?? issue.message}`;
      const found = issue.code === 'unrecognized_keys' ? '' : ` = ${JSON.stringify(valueAt(json, issue.path)) ?? '(unset)'}`;
      return `  ${VARIABLE}: ${field}${found}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}\nFix this environment variable and start again.`);
  }
  const parsed = result.data;
  return Object.freeze({
    default: parsed.default && toOverride(parsed.default),
    services: mapValues(parsed.services, toOverride),
    methods: mapValues(parsed.methods, toOverride),
    retryThrottling: parsed.retryThrottling,
    backupAttempts:
      parsed.backupAttempts &&
      Object.freeze({
        delay: defined({ quantile: parsed.backupAttempts.quantile, minDelayMs: parsed.backupAttempts.minDelayMs, maxDelayMs: parsed.backupAttempts.maxDelayMs }),
        budget: defined({ ratio: parsed.backupAttempts.ratio, reserve: parsed.backupAttempts.reserve }),
      }),
  });
}
