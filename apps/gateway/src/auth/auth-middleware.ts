import { PermissionDeniedError, UnauthenticatedError, toStatusError, type CallOutcome, type ServerMiddleware } from '@switchyard/runtime';
import { ROLES_METADATA, SUBJECT_METADATA, stripInternalMetadata } from './identity-metadata';
import type { TokenVerifier, VerifiedCaller } from './token-verifier';

export interface AuthMiddlewareOptions {
  /** Checks tokens; undefined when auth is off (then calls only lose their `x-switchyard-*` metadata). */
  verify?: TokenVerifier;
  /** Full method paths callable without a token (AUTH_PUBLIC_METHODS). Default none. */
  publicMethods?: ReadonlySet<string>;
  /** Methods that need one of the listed roles (AUTH_METHOD_ROLES). Default none. */
  methodRoles?: ReadonlyMap<string, readonly string[]>;
  /** The public methods and role rules in force, asked on every call (AUTH_RULES_FILE reloads them); takes the place of the two above. */
  rules?: () => { publicMethods: ReadonlySet<string>; methodRoles: ReadonlyMap<string, readonly string[]> };
}

const BEARER = /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i;

function refused(error: Error): CallOutcome {
  const mapped = toStatusError(error);
  return { code: mapped.code, error: mapped };
}

/** The bearer token of the call, undefined when it has none, or the reason it is unusable. */
function bearerToken(values: unknown[]): { token?: string; problem?: string } {
  if (values.length === 0) return {};
  if (values.length > 1) return { problem: 'more than one authorization header' };
  const match = typeof values[0] === 'string' ? BEARER.exec(values[0]) : null;
  return match ? { token: match[1] } : { problem: 'authorization must use the Bearer scheme' };
}

/**
 * The gateway's edge check, first of its own middleware. Every call loses the `x-switchyard-*`
 * metadata its client sent, auth on or off. With auth on, a call of a method not listed public
 * needs a valid bearer token (UNAUTHENTICATED otherwise) and, where AUTH_METHOD_ROLES lists the
 * method, one of its roles (PERMISSION_DENIED otherwise); the verified subject and roles then go
 * on the call as `x-switchyard-subject` and `x-switchyard-roles`, for the middleware after this
 * one (rate limits) and, through the forwarding, for the services behind. A public method called
 * with a token checks it too, so a bad token is never silently ignored.
 * Health and reflection are not behind server middleware: they stay public.
 */
export function authMiddleware(options: AuthMiddlewareOptions): ServerMiddleware {
  const { verify } = options;
  const fixed = { publicMethods: options.publicMethods ?? new Set<string>(), methodRoles: options.methodRoles ?? new Map<string, readonly string[]>() };
  const rules = options.rules ?? (() => fixed);
  return async (call, next) => {
    stripInternalMetadata(call.metadata);
    if (!verify) return next();
    // Read once per call, so a reload while the token is checked cannot mix old and new rules.
    const { publicMethods, methodRoles } = rules();
    const { token, problem } = bearerToken(call.metadata.get('authorization'));
    if (problem) return refused(new UnauthenticatedError(problem));
    if (token === undefined) {
      if (publicMethods.has(call.method)) return next();
      return refused(new UnauthenticatedError('a bearer token is required (authorization: Bearer <token>)'));
    }
    let caller: VerifiedCaller;
    try {
      caller = await verify(token);
    } catch (error) {
      return refused(error as Error);
    }
    const required = methodRoles.get(call.method);
    if (required && !required.some((role) => caller.roles.includes(role))) {
      return refused(new PermissionDeniedError(`this method needs the role ${required.join(' or ')}`));
    }
    call.metadata.set(SUBJECT_METADATA, caller.subject);
    if (caller.roles.length > 0) call.metadata.set(ROLES_METADATA, caller.roles.join(','));
    return next();
  };
}
