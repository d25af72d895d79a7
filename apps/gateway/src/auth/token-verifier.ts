import { status as Status } from '@grpc/grpc-js';
import { UnauthenticatedError, statusError, type Logger } from '@switchyard/runtime';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { AuthConfig } from './auth-config';
import { jwksFromFile } from './jwks-file';

/** Who a verified token speaks for. */
export interface VerifiedCaller {
  subject: string;
  roles: string[];
}

export type TokenVerifier = (token: string) => Promise<VerifiedCaller>;

export interface TokenVerifierOptions {
  logger: Logger;
  /**
   * Least time between two fetches of AUTH_JWKS_URL when a token names a `kid` the cached set
   * lacks (a rotation). Default 30 s, jose's: a stream of made-up `kid`s cannot hammer the issuer.
   */
  jwksCooldownMs?: number;
  /** How long a fetched JWKS is used before it is fetched again. Default 10 minutes. */
  jwksMaxAgeMs?: number;
}

/** HS with the shared secret only, RS and ES with the JWKS only: a token cannot pick its key type (no `none`). */
const SECRET_ALGORITHMS = ['HS256'];
const JWKS_ALGORITHMS = ['RS256', 'ES256'];

// What the caller is told, by jose's error code: what is wrong, never the token's content.
const REASONS: Readonly<Record<string, string>> = {
  [errors.JWTExpired.code]: 'the token has expired',
  [errors.JOSEAlgNotAllowed.code]: 'the token algorithm is not accepted',
  [errors.JOSENotSupported.code]: 'the token algorithm is not accepted',
  [errors.JWSSignatureVerificationFailed.code]: 'the token signature is invalid',
  [errors.JWKSNoMatchingKey.code]: 'the token signing key is unknown',
  [errors.JWKSMultipleMatchingKeys.code]: 'the token signing key is ambiguous; set a kid',
  [errors.JWSInvalid.code]: 'the token is malformed',
  [errors.JWTInvalid.code]: 'the token is malformed',
};

const CLAIM_REASONS: Readonly<Record<string, string>> = {
  nbf: 'the token is not yet valid',
  iss: 'the token issuer is not accepted',
  aud: 'the token audience is not accepted',
  exp: 'the token has expired',
  iat: 'the token issue time is invalid',
};

// Both travel as gRPC metadata, which takes printable ASCII only; roles are joined with commas.
const PRINTABLE = /^[\x20-\x7e]+$/;
const ROLE = /^[\x21-\x2b\x2d-\x7e]+$/;

function rolesOf(payload: JWTPayload, claim: string): string[] {
  const value = payload[claim];
  const roles = typeof value === 'string' ? value.split(' ') : Array.isArray(value) ? value : [];
  return roles.filter((role): role is string => typeof role === 'string' && ROLE.test(role));
}

function rejection(error: unknown, logger: Logger): Error {
  const code = (error as { code?: unknown }).code;
  if (error instanceof errors.JWTClaimValidationFailed) return new UnauthenticatedError(CLAIM_REASONS[error.claim] ?? `the token claim ${error.claim} is invalid`);
  if (typeof code === 'string' && REASONS[code]) return new UnauthenticatedError(REASONS[code]);
  // The JWKS URL did not answer, or not with keys: the caller's token may be fine.
  logger.warn({ err: error }, 'cannot get the keys to verify a token');
  return statusError(Status.UNAVAILABLE, 'cannot verify tokens right now; retry later');
}

/**
 * Verifies a caller's JWT against the configured keys, `exp` and `nbf` (within the clock skew),
 * `iss` and `aud` when configured. Resolves to the subject and roles, or rejects with
 * UNAUTHENTICATED saying what is wrong (UNAVAILABLE when the keys cannot be fetched).
 */
export function createTokenVerifier(config: AuthConfig, options: TokenVerifierOptions): TokenVerifier {
  const { secret, jwks: source } = config.keys;
  const jwks: JWTVerifyGetKey | undefined =
    source === undefined
      ? undefined
      : 'url' in source
        ? createRemoteJWKSet(source.url, { cooldownDuration: options.jwksCooldownMs ?? 30_000, cacheMaxAge: options.jwksMaxAgeMs ?? 600_000 })
        : jwksFromFile(source.file, { logger: options.logger });
  const algorithms = [...(secret ? SECRET_ALGORITHMS : []), ...(jwks ? JWKS_ALGORITHMS : [])];
  // Imported once: jose would import raw bytes again on every call (about a quarter of its cost).
  const secretKey = secret && crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  const getKey: JWTVerifyGetKey = (header, token) => {
    if (header.alg !== undefined && SECRET_ALGORITHMS.includes(header.alg) && secretKey) return secretKey;
    if (header.alg !== undefined && JWKS_ALGORITHMS.includes(header.alg) && jwks) return jwks(header, token);
    throw new errors.JOSEAlgNotAllowed('algorithm not accepted');
  };
  const verifyOptions = {
    algorithms,
    issuer: config.issuer,
    audience: config.audience,
    clockTolerance: config.clockSkewMs / 1000,
  };
  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, verifyOptions));
    } catch (error) {
      throw rejection(error, options.logger);
    }
    if (typeof payload.sub !== 'string' || payload.sub === '') throw new UnauthenticatedError('the token has no subject (sub)');
    if (!PRINTABLE.test(payload.sub)) throw new UnauthenticatedError('the token subject (sub) must be printable ASCII');
    return { subject: payload.sub, roles: rolesOf(payload, config.rolesClaim) };
  };
}
