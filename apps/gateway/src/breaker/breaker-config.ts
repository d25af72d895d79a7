import { parseEnv } from '@switchyard/runtime';
import { z } from 'zod';
import { DEFAULT_BREAKER } from './circuit-breaker';

export interface BreakerConfig {
  /** Consecutive UNAVAILABLE or hung calls to one upstream that open its breaker. */
  failures: number;
  /** How long an open breaker fails calls at once before one probe goes through. */
  openMs: number;
  /** A DEADLINE_EXCEEDED counts as a failure only for a call that waited at least this long. */
  hungAfterMs: number;
}

const milliseconds = (min: number, max: number, fallback: number) =>
  z.coerce
    .number({ error: 'expected a number of milliseconds' })
    .int('expected a whole number of milliseconds')
    .min(min, `expected from ${min} to ${max} milliseconds`)
    .max(max, `expected from ${min} to ${max} milliseconds`)
    .default(fallback);

/** BREAKER_FAILURES, BREAKER_OPEN_MS and BREAKER_HUNG_AFTER_MS of the gateway; a bad value is a ConfigError naming it. */
export function loadBreakerConfig(env: Record<string, string | undefined> = process.env): BreakerConfig {
  const parsed = parseEnv(
    {
      BREAKER_FAILURES: z.coerce
        .number({ error: 'expected a number of consecutive failures' })
        .int('expected a whole number of failures')
        .min(1, 'expected from 1 to 1000 failures')
        .max(1000, 'expected from 1 to 1000 failures')
        .default(DEFAULT_BREAKER.failures),
      BREAKER_OPEN_MS: milliseconds(10, 600_000, DEFAULT_BREAKER.openMs),
      BREAKER_HUNG_AFTER_MS: milliseconds(1, 600_000, DEFAULT_BREAKER.hungAfterMs),
    },
    env,
  );
  return Object.freeze({ failures: parsed.BREAKER_FAILURES, openMs: parsed.BREAKER_OPEN_MS, hungAfterMs: parsed.BREAKER_HUNG_AFTER_MS });
}
