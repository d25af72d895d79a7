import { readFileSync } from 'node:fs';
import { ConfigError, millisecondsVariable, parseEnv, secretVariable } from '@switchyard/runtime';
import { z } from 'zod';
import type { StoreFailureMode } from './rate-limit-middleware';
import { parseRateLimitRules, RateLimitRulesError, type RateLimitRules } from './rate-limit-rules';

export interface RateLimitConfig {
  /** The rules of RATE_LIMITS or of RATE_LIMITS_FILE as it was read at start; undefined: no limits. */
  rules: RateLimitRules | undefined;
  /** RATE_LIMITS_FILE, watched for changes. */
  rulesFile?: string;
  /** REDIS_URL: buckets shared in Redis; unset: in this process's memory. */
  redisUrl?: string;
  redisKeyPrefix: string;
  redisTimeoutMs: number;
  onRedisFailure: StoreFailureMode;
}

export const DEFAULT_REDIS_TIMEOUT_MS = 50;

/**
 * RATE_LIMITS or RATE_LIMITS_FILE (not both), REDIS_URL, RATE_LIMIT_REDIS_PREFIX,
 * RATE_LIMIT_REDIS_TIMEOUT_MS and RATE_LIMIT_REDIS_FAILURE; a bad value, or a rules file that is
 * missing or invalid at start, is a ConfigError naming the variable and the field.
 */
export function loadRateLimitConfig(env: Record<string, string | undefined> = process.env): RateLimitConfig {
  const parsed = parseEnv(
    {
      RATE_LIMITS: z.string().optional(),
      RATE_LIMITS_FILE: z.string().optional(),
      REDIS_URL: secretVariable(z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379').optional()),
      RATE_LIMIT_REDIS_PREFIX: z.string().default('switchyard:ratelimit:'),
      RATE_LIMIT_REDIS_TIMEOUT_MS: millisecondsVariable(DEFAULT_REDIS_TIMEOUT_MS),
      RATE_LIMIT_REDIS_FAILURE: z.enum(['open', 'closed'], { error: 'expected "open" (admit calls unchecked) or "closed" (refuse them)' }).default('open'),
    },
    env,
  );
  if (parsed.RATE_LIMITS !== undefined && parsed.RATE_LIMITS_FILE !== undefined) {
    throw new ConfigError('invalid configuration:\n  RATE_LIMITS and RATE_LIMITS_FILE are both set: set one of them\nFix these environment variables and start again.');
  }
  let rules: RateLimitRules | undefined;
  if (parsed.RATE_LIMITS !== undefined) rules = rulesOrConfigError('RATE_LIMITS', () => parseRateLimitRules(parsed.RATE_LIMITS!));
  if (parsed.RATE_LIMITS_FILE !== undefined) rules = rulesOrConfigError('RATE_LIMITS_FILE', () => readRulesFile(parsed.RATE_LIMITS_FILE!));
  return Object.freeze({
    rules,
    rulesFile: parsed.RATE_LIMITS_FILE,
    redisUrl: parsed.REDIS_URL,
    redisKeyPrefix: parsed.RATE_LIMIT_REDIS_PREFIX,
    redisTimeoutMs: parsed.RATE_LIMIT_REDIS_TIMEOUT_MS,
    onRedisFailure: parsed.RATE_LIMIT_REDIS_FAILURE,
  });
}

/** The rules in `path`; throws a RateLimitRulesError when it cannot be read or is invalid. */
export function readRulesFile(path: string): RateLimitRules {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new RateLimitRulesError(`cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return parseRateLimitRules(text);
}

function rulesOrConfigError(variable: string, read: () => RateLimitRules): RateLimitRules {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof RateLimitRulesError)) throw error;
    throw new ConfigError(`invalid configuration:\n  ${variable}: ${error.message}\nFix these environment variables and start again.`);
  }
}
