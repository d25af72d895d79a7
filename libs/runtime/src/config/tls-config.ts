import { readFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { ConfigError, parseEnv } from './env-config';

/** The PEM contents behind TLS_CERT, TLS_KEY and TLS_CA; never logged or put in an error. */
export interface TlsFiles {
  /** This app's certificate chain, shown to servers and clients alike. */
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The CA that signs every app's certificate: peers must present one it signed. */
  readonly ca: Buffer;
}

const VARIABLES = ['TLS_CERT', 'TLS_KEY', 'TLS_CA'] as const;
type Variable = (typeof VARIABLES)[number];

const HOW_TO_FIX = 'Set all three of TLS_CERT, TLS_KEY and TLS_CA (paths of PEM files; `npm run certs` makes them), or none for plaintext.';

// The reason a file is unusable, from its error code only: a parser's message could quote the file.
function unreadable(variable: Variable, path: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (code ?? 'unreadable');
  return `  ${variable}=${JSON.stringify(path)}: cannot read the file (${reason})`;
}

/**
 * Reads TLS_CERT, TLS_KEY and TLS_CA (file paths): all three turn on mutual TLS, none leaves the
 * app on plaintext. Throws a ConfigError naming what is missing, which file cannot be read, or
 * which is not a PEM certificate or key, without ever printing a file's contents.
 */
export function loadTlsConfig(env: Record<string, string | undefined> = process.env): TlsFiles | undefined {
  const paths = parseEnv({ TLS_CERT: z.string().optional(), TLS_KEY: z.string().optional(), TLS_CA: z.string().optional() }, env);
  const missing = VARIABLES.filter((variable) => paths[variable] === undefined);
  if (missing.length === VARIABLES.length) return undefined;
  if (missing.length > 0) {
    throw new ConfigError(`invalid configuration:\n${missing.map((variable) => `  ${variable}=(unset): needed with the other TLS_ variables`).join('\n')}\n${HOW_TO_FIX}`);
  }
  const contents = {} as Record<Variable, Buffer>;
  const problems: string[] = [];
  for (const variable of VARIABLES) {
    const path = paths[variable]!;
    try {
      contents[variable] = readFileSync(path);
    } catch (error) {
      problems.push(unreadable(variable, path, error));
    }
  }
  if (problems.length === 0) problems.push(...pemProblems(contents, paths as Record<Variable, string>));
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n${problems.join('\n')}\n${HOW_TO_FIX}`);
  return Object.freeze({ cert: contents.TLS_CERT, key: contents.TLS_KEY, ca: contents.TLS_CA });
}

// Checked at start so a swapped or truncated file stops the app with its name, not the first call
// with an OpenSSL error.
function pemProblems(contents: Record<Variable, Buffer>, paths: Record<Variable, string>): string[] {
  const problems: string[] = [];
  const check = (variable: Variable, expected: string, parse: () => unknown) => {
    try {
      parse();
    } catch {
      problems.push(`  ${variable}=${JSON.stringify(paths[variable])}: not a PEM ${expected}`);
    }
  };
  check('TLS_CERT', 'certificate', () => new X509Certificate(contents.TLS_CERT));
  check('TLS_KEY', 'private key (unencrypted)', () => createPrivateKey(contents.TLS_KEY));
  check('TLS_CA', 'certificate', () => new X509Certificate(contents.TLS_CA));
  if (problems.length === 0 && !new X509Certificate(contents.TLS_CERT).checkPrivateKey(createPrivateKey(contents.TLS_KEY))) {
    problems.push(`  TLS_KEY=${JSON.stringify(paths.TLS_KEY)}: not the private key of TLS_CERT=${JSON.stringify(paths.TLS_CERT)}`);
  }
  return problems;
}
