import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { METHOD_EXAMPLE, methodPath } from './auth-config';

/** Which methods are public and which need roles: what operators change while the gateway runs. */
export interface AuthRules {
  publicMethods: ReadonlySet<string>;
  methodRoles: ReadonlyMap<string, readonly string[]>;
}

/** Why an auth rules file was refused, said in a start-up error or a reload's log line. */
export class AuthRulesError extends Error {}

const rulesFile = z.strictObject({
  publicMethods: z.array(methodPath).default([]),
  methodRoles: z.record(methodPath, z.array(z.string().min(1)).min(1, 'expected at least one role per method')).default({}),
});

/**
 * The rules in `text` (`{ "publicMethods": [...], "methodRoles": {...} }`), refused when they name
 * a method the gateway does not serve (a misspelt role rule would leave the method open to every
 * token) or make a method both public and role-bound.
 */
export function parseAuthRules(text: string, served: ReadonlySet<string>): AuthRules {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AuthRulesError(`not JSON (${(error as Error).message}); expected {"publicMethods": ["${METHOD_EXAMPLE}"], "methodRoles": {"${METHOD_EXAMPLE}": ["admin"]}}`);
  }
  const parsed = rulesFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AuthRulesError(`${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
  }
  const publicMethods = new Set(parsed.data.publicMethods);
  const methodRoles = new Map(Object.entries(parsed.data.methodRoles));
  const problems = [
    ...[...publicMethods].filter((method) => !served.has(method)).map((method) => `publicMethods: the gateway serves no method ${method}`),
    ...[...methodRoles.keys()].filter((method) => !served.has(method)).map((method) => `methodRoles: the gateway serves no method ${method}`),
    ...[...methodRoles.keys()].filter((method) => publicMethods.has(method)).map((method) => `${method} is in both publicMethods and methodRoles: a public method has no roles to check`),
  ];
  if (problems.length > 0) throw new AuthRulesError(problems.join('; '));
  return { publicMethods, methodRoles };
}

/** The rules in the file at `path`; throws an AuthRulesError when it cannot be read or is invalid. */
export function readAuthRulesFile(path: string, served: ReadonlySet<string>): AuthRules {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AuthRulesError(`cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return parseAuthRules(text, served);
}

/** The rules as a log line shows them. */
export function describeAuthRules(rules: AuthRules): { publicMethods: string[]; methodRoles: Record<string, readonly string[]> } {
  return { publicMethods: [...rules.publicMethods], methodRoles: Object.fromEntries(rules.methodRoles) };
}
