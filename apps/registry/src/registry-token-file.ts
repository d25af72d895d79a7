import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * With REGISTRY_TOKEN unset and REGISTRY_TOKEN_FILE naming a file that does not exist yet, writes
 * a new random token there (256 bits, base64url, readable by its owner only), so that a stack
 * whose apps share that file runs with a token without anyone choosing one. An existing file is
 * left alone: the apps and a restarted registry keep using its token. Returns whether it wrote.
 */
export function ensureRegistryTokenFile(env: Record<string, string | undefined> = process.env): boolean {
  const path = env.REGISTRY_TOKEN_FILE;
  if ((env.REGISTRY_TOKEN ?? '') !== '' || path === undefined || path === '') return false;
  mkdirSync(dirname(path), { recursive: true });
  try {
    // 'wx' fails when the file exists: two registries starting at once keep the first token.
    writeFileSync(path, `${randomBytes(32).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}
