import { ConfigError, parseEnv, secretVariable } from '@switchyard/runtime';
import { z } from 'zod';

/** Where the keys that sign callers' tokens come from. */
export interface AuthKeys {
  /** HS256 shared secret (AUTH_JWT_SECRET). */
  secret?: Uint8Array;
  /** RS256/ES256 public keys: a JWKS served at a URL (AUTH_JWKS_URL) or kept in a file (AUTH_JWKS_FILE). */
  jwks?: { url: URL } | { file: string };
}

export interface AuthConfig {
  keys: AuthKeys;
  /** Required `iss`, when set. */
  issuer?: string;
  /** Required `aud` (one of the token's audiences), when set. */
  audience?: string;
  /** Full method paths (`/pkg.Service/Method`) callable without a token. */
  publicMethods: ReadonlySet<string>;
  /** Tolerance for `exp` and `nbf` against clocks that disagree a little. */
  clockSkewMs: number;
  /** The claim that holds the caller's roles: an array of strings, or one space-separated string. */
  rolesClaim: string;
  /** Methods that need one of the listed roles; other methods need only a valid token. */
  methodRoles: ReadonlyMap<string, readonly string[]>;
  /** AUTH_RULES_FILE: where public methods and roles come from instead, followed while the gateway runs (see auth-rules-watch). */
  rulesFile?: string;
}

export const DEFAULT_CLOCK_SKEW_MS = 30_000;
export const DEFAULT_ROLES_CLAIM = 'roles';
/** RFC 7518 §3.2: an HS256 key shorter than the hash output (32 bytes) is guessable. */
export const MIN_SECRET_BYTES = 32;

const METHOD_PATH = /^\/?[A-Za-z_][\w.]*\.[A-Za-z_]\w*\/[A-Za-z_]\w*$/;
export const METHOD_EXAMPLE = '/switchyard.user.v1.UserService/CreateUser';

/** `pkg.Service/Method` or `/pkg.Service/Method`, as the full path grpc-js reports. */
export const methodPath = z.string().trim().regex(METHOD_PATH, `expected a full method name like ${METHOD_EXAMPLE}`).transform((path) => (path.startsWith('/') ? path : `/${path}`));

const methodList = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()).filter((item) => item !== ''))
  .pipe(z.array(methodPath));

const methodRoles = z
  .string()
  .transform((value, context) => {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      context.addIssue({ code: 'custom', message: `expected JSON like {"${METHOD_EXAMPLE}": ["admin"]}` });
      return z.NEVER;
    }
  })
  .pipe(z.record(methodPath, z.array(z.string().min(1)).min(1, 'expected at least one role per method'), { error: `expected JSON like {"${METHOD_EXAMPLE}": ["admin"]}` }));

const KEY_VARIABLES = ['AUTH_JWT_SECRET', 'AUTH_JWKS_URL', 'AUTH_JWKS_FILE'] as const;
const SETTINGS = ['AUTH_ISSUER', 'AUTH_AUDIENCE', 'AUTH_PUBLIC_METHODS', 'AUTH_CLOCK_SKEW_MS', 'AUTH_ROLES_CLAIM', 'AUTH_METHOD_ROLES', 'AUTH_RULES_FILE'] as const;

/**
 * The gateway's JWT settings (AUTH_*), or undefined when none of AUTH_JWT_SECRET, AUTH_JWKS_URL
 * and AUTH_JWKS_FILE is set: auth is then off. A bad value, or a setting that would do nothing
 * (AUTH_METHOD_ROLES with no key to check tokens), is a ConfigError naming the variable.
 */
export function loadAuthConfig(env: Record<string, string | undefined> = process.env): AuthConfig | undefined {
  const parsed = parseEnv(
    {
      AUTH_JWT_SECRET: secretVariable(
        z
          .string()
          .refine((secret) => Buffer.byteLength(secret, 'utf8') >= MIN_SECRET_BYTES, `expected at least ${MIN_SECRET_BYTES} bytes; generate one with: openssl rand -base64 48`)
          .optional(),
      ),
      // A URL may carry credentials in its user info or query.
      AUTH_JWKS_URL: secretVariable(z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL of a JWKS' }).optional()),
      AUTH_JWKS_FILE: z.string().optional(),
      AUTH_ISSUER: z.string().optional(),
      AUTH_AUDIENCE: z.string().optional(),
      AUTH_PUBLIC_METHODS: methodList.optional(),
      AUTH_CLOCK_SKEW_MS: z.coerce.number({ error: 'expected milliseconds' }).int('expected whole milliseconds').min(0, 'expected milliseconds >= 0').max(300_000, 'expected at most 300000 ms (5 minutes)').default(DEFAULT_CLOCK_SKEW_MS),
      AUTH_ROLES_CLAIM: z.string().default(DEFAULT_ROLES_CLAIM),
      AUTH_METHOD_ROLES: methodRoles.optional(),
      AUTH_RULES_FILE: z.string().optional(),
    },
    env,
  );
  const problems: string[] = [];
  if (parsed.AUTH_JWKS_URL !== undefined && parsed.AUTH_JWKS_FILE !== undefined) {
    problems.push('  AUTH_JWKS_URL and AUTH_JWKS_FILE are both set: set only one of them');
  }
  if (parsed.AUTH_RULES_FILE !== undefined && (parsed.AUTH_PUBLIC_METHODS !== undefined || parsed.AUTH_METHOD_ROLES !== undefined)) {
    problems.push('  AUTH_RULES_FILE is set with AUTH_PUBLIC_METHODS or AUTH_METHOD_ROLES: put the rules in the file (publicMethods, methodRoles) and unset the variables');
  }
  const keyed = KEY_VARIABLES.some((name) => parsed[name] !== undefined);
  if (!keyed) {
    const stray = SETTINGS.filter((name) => env[name] !== undefined && env[name] !== '');
    if (stray.length > 0) problems.push(`  ${stray.join(', ')} set but auth is off: set AUTH_JWT_SECRET, AUTH_JWKS_URL or AUTH_JWKS_FILE too, or unset them`);
  }
  const publicMethods = new Set(parsed.AUTH_PUBLIC_METHODS ?? []);
  const roles = new Map(Object.entries(parsed.AUTH_METHOD_ROLES ?? {}));
  const both = [...roles.keys()].filter((method) => publicMethods.has(method));
  if (both.length > 0) problems.push(`  ${both.join(', ')} is in both AUTH_PUBLIC_METHODS and AUTH_METHOD_ROLES: a public method has no roles to check; remove it from one`);
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n${problems.join('\n')}\nFix these environment variables and start again.`);
  if (!keyed) return undefined;

  const jwks = parsed.AUTH_JWKS_URL !== undefined ? { url: new URL(parsed.AUTH_JWKS_URL) } : parsed.AUTH_JWKS_FILE !== undefined ? { file: parsed.AUTH_JWKS_FILE } : undefined;
  return Object.freeze({
    keys: Object.freeze({ secret: parsed.AUTH_JWT_SECRET !== undefined ? new TextEncoder().encode(parsed.AUTH_JWT_SECRET) : undefined, jwks }),
    issuer: parsed.AUTH_ISSUER,
    audience: parsed.AUTH_AUDIENCE,
    publicMethods,
    clockSkewMs: parsed.AUTH_CLOCK_SKEW_MS,
    rolesClaim: parsed.AUTH_ROLES_CLAIM,
    methodRoles: roles,
    rulesFile: parsed.AUTH_RULES_FILE,
  });
}

/**
 * Refuses AUTH_PUBLIC_METHODS and AUTH_METHOD_ROLES entries that name no method the gateway
 * serves: a misspelt role rule would otherwise leave the method it meant open to every token.
 */
export function checkAuthMethods(config: AuthConfig, served: Iterable<string>): void {
  const known = new Set(served);
  const problems = [
    ...[...config.publicMethods].filter((method) => !known.has(method)).map((method) => `  AUTH_PUBLIC_METHODS: the gateway serves no method ${method}`),
    ...[...config.methodRoles.keys()].filter((method) => !known.has(method)).map((method) => `  AUTH_METHOD_ROLES: the gateway serves no method ${method}`),
  ];
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n${problems.join('\n')}\nName methods as /package.Service/Method (grpcurl list shows them) and start again.`);
}
