import { z } from 'zod';
import { isAddressSetting } from './grpc-target';

/** Start-up configuration is wrong; the message names every bad variable and what it expects. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

// Schemas whose values never appear in a ConfigError (see secretVariable).
const secretSchemas = new WeakSet<z.ZodType>();

/**
 * Marks a variable's schema as secret (tokens, passwords, URLs that may carry one): a ConfigError
 * names the variable and what it expects but shows its value as `(hidden)`, since start-up errors
 * end up in logs that more people read than should know the secret.
 */
export function secretVariable<Schema extends z.ZodType>(schema: Schema): Schema {
  secretSchemas.add(schema);
  return schema;
}

function describeIssue(variable: string, schema: z.ZodType | undefined, value: string | undefined, message: string): string {
  if (value === undefined) return `  ${variable}=(unset): ${message}`;
  if (!schema || !secretSchemas.has(schema)) return `  ${variable}=${JSON.stringify(value)}: ${message}`;
  // A message of zod's own may quote what it received.
  return `  ${variable}=(hidden): ${message.split(value).join('(hidden)')}`;
}

/**
 * Parses environment variables with a zod schema whose keys are the variable names. Returns a
 * frozen, typed object, or throws a ConfigError listing each bad variable with its value (or
 * `(hidden)` for a secretVariable).
 */
export function parseEnv<Shape extends z.ZodRawShape>(
  shape: Shape,
  env: Record<string, string | undefined> = process.env,
): Readonly<z.infer<z.ZodObject<Shape>>> {
  const keys = Object.keys(shape);
  // Empty strings count as unset, as they do in docker-compose files with `VAR=`.
  const input = Object.fromEntries(keys.map((key) => [key, env[key] === '' ? undefined : env[key]]));
  const result = z.object(shape).safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const variable = String(issue.path[0]);
      return describeIssue(variable, shape[variable] as z.ZodType | undefined, input[variable], issue.message);
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}\nFix these environment variables and start again.`);
  }
  return Object.freeze(result.data);
}

/** A TCP port, 0 (pick a free one) to 65535. */
export const portVariable = (defaultPort: number) =>
  z.coerce
    .number({ error: 'expected a port number' })
    .int('expected a whole port number')
    .min(0, 'expected a port from 0 to 65535')
    .max(65535, 'expected a port from 0 to 65535')
    .default(defaultPort);

/** host:port, e.g. 127.0.0.1:50051 or registry:50051. */
export const hostPortVariable = () =>
  z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:50051');

/** Where to dial a server: host:port (registry:50051), or an explicit dns:, ipv4:, ipv6: or unix: target. */
export const dialAddressVariable = () =>
  z.string().refine(isAddressSetting, 'expected host:port, e.g. registry:50051, or a dns:, ipv4:, ipv6: or unix: target');

/**
 * One or more dial addresses, comma-separated (`registry-a:50051,registry-b:50051`), each as
 * dialAddressVariable takes it, each once. Parsed to the list, in the order given.
 */
export const dialAddressListVariable = () =>
  z.string().transform((value, ctx) => {
    const addresses = value.split(',').map((entry) => entry.trim());
    const expected = 'expected host:port, e.g. registry:50051, or a dns:, ipv4:, ipv6: or unix: target; several are comma-separated';
    for (const [i, address] of addresses.entries()) {
      if (address === '') ctx.addIssue({ code: 'custom', message: `${expected}; entry ${i + 1} is empty (a stray comma?)` });
      else if (!isAddressSetting(address)) ctx.addIssue({ code: 'custom', message: `${expected}; ${JSON.stringify(address)} is neither` });
      else if (addresses.indexOf(address) !== i) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(address)} is listed twice; list each address once` });
    }
    return addresses;
  });

/** A positive duration in milliseconds. */
export const millisecondsVariable = (defaultMs: number) =>
  z.coerce.number({ error: 'expected milliseconds' }).int('expected whole milliseconds').positive('expected milliseconds > 0').default(defaultMs);
