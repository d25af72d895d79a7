import { parseEnv, portVariable } from '@switchyard/runtime';
import { z } from 'zod';

export interface HttpConfig {
  /** Address the HTTP/JSON face binds to. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Largest request body, in bytes. */
  bodyLimitBytes: number;
}

export const DEFAULT_HTTP_PORT = 8080;
/** Our largest request (an order with its items) is a few KiB; more is a mistake or an attack. */
export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024;

/** HTTP_HOST, HTTP_PORT and HTTP_BODY_LIMIT_BYTES of the gateway; a bad value is a ConfigError naming it. */
export function loadHttpConfig(env: Record<string, string | undefined> = process.env): HttpConfig {
  const parsed = parseEnv(
    {
      HTTP_HOST: z.string().default('0.0.0.0'),
      HTTP_PORT: portVariable(DEFAULT_HTTP_PORT),
      HTTP_BODY_LIMIT_BYTES: z.coerce
        .number({ error: 'expected a number of bytes' })
        .int('expected a whole number of bytes')
        .min(1024, 'expected at least 1024 bytes')
        .max(16 * 1024 * 1024, 'expected at most 16777216 bytes (16 MiB)')
        .default(DEFAULT_BODY_LIMIT_BYTES),
    },
    env,
  );
  return Object.freeze({ host: parsed.HTTP_HOST, port: parsed.HTTP_PORT, bodyLimitBytes: parsed.HTTP_BODY_LIMIT_BYTES });
}
