import { readFileSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ConfigError, type Logger } from '@switchyard/runtime';
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

export interface JwksFileOptions {
  logger: Logger;
  /** How often, at most, the file is checked for a change (on the calls that need a key). Default 1000 ms. */
  checkIntervalMs?: number;
}

interface Loaded {
  getKey: JWTVerifyGetKey;
  mtimeMs: number;
  size: number;
}

function load(path: string): Loaded {
  const { mtimeMs, size } = statSync(path);
  const jwks = JSON.parse(readFileSync(path, 'utf8')) as JSONWebKeySet;
  return { getKey: createLocalJWKSet(jwks), mtimeMs, size };
}

/**
 * The keys of a JWKS file (AUTH_JWKS_FILE), reloaded when the file changes, so keys rotate by
 * replacing the file. Read at start, where a missing or invalid file is a ConfigError; a bad
 * file written later is logged and the keys read before stay in use.
 */
export function jwksFromFile(path: string, options: JwksFileOptions): JWTVerifyGetKey {
  const checkIntervalMs = options.checkIntervalMs ?? 1000;
  let current: Loaded;
  try {
    current = load(path);
  } catch (error) {
    throw new ConfigError(`invalid configuration:\n  AUTH_JWKS_FILE=${JSON.stringify(path)}: cannot read a JWKS from it (${(error as Error).message}); point it at a JSON Web Key Set file ({"keys": [...]})\nFix these environment variables and start again.`);
  }
  let checkedAt = Date.now();
  let checking: Promise<void> | undefined;

  const check = async () => {
    try {
      const { mtimeMs, size } = await stat(path);
      if (mtimeMs === current.mtimeMs && size === current.size) return;
      current = load(path);
      options.logger.info({ path }, 'JWKS file changed; keys reloaded');
    } catch (error) {
      options.logger.warn({ path, err: error }, 'JWKS file unreadable; keeping the keys read before');
    }
  };

  return async (header, token) => {
    if (Date.now() - checkedAt >= checkIntervalMs) {
      checkedAt = Date.now();
      checking ??= check().finally(() => (checking = undefined));
    }
    await checking;
    return current.getKey(header, token);
  };
}
