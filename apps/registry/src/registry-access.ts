import { createHash, timingSafeEqual } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import { UnauthenticatedError, type PeerIdentity } from '@switchyard/runtime';

/** What a caller proved, and so what it may do. */
export interface Caller {
  /** How the caller proved itself, for error messages: "no credentials", "the fleet token", "the token of user". */
  readonly description: string;
  /** Whether it presented a credential the registry accepted. */
  readonly authenticated: boolean;
  /** Whether it may Register instances of `serviceName`. */
  mayRegister(serviceName: string): boolean;
  /** Whether it may Heartbeat and Deregister (the lease secret then decides which instances). */
  readonly mayRenew: boolean;
  /** Whether it may Resolve, Watch and ListServices. */
  readonly mayRead: boolean;
}

/** The parts of a call that can prove who the caller is. */
export interface CallCredentials {
  metadata: Metadata;
  peer: string;
  /** The verified client certificate's identity; undefined over plaintext. */
  peerIdentity?: PeerIdentity;
}

/**
 * Decides what a call may do from its credentials; throws UnauthenticatedError for a credential
 * presented and refused. Token access is one; an mTLS one (the certificate's SAN naming the
 * service) fits the same shape.
 */
export type RegistryAccess = (call: CallCredentials) => Caller;

/** Who may Resolve, Watch and ListServices: anyone, a caller with a token, or (mutual TLS on) any caller with a certificate. */
export type ReadAccess = 'open' | 'token' | 'mtls';

export interface TokenAccessOptions {
  /** REGISTRY_TOKEN: may register any service. */
  fleetToken?: string;
  /** REGISTRY_TOKENS: service name to the token that may register it. */
  serviceTokens?: Readonly<Record<string, string>>;
  /** Whether reads need a token. Default "token" when any token is configured, else "open". */
  readAccess?: ReadAccess;
}

const digest = (token: string) => createHash('sha256').update(token).digest();

/**
 * Access by bearer token (`authorization: Bearer <token>`). With no token configured, everyone
 * may do everything: the registry of a single trusted host.
 */
export function tokenAccess(options: TokenAccessOptions): RegistryAccess {
  const grants: Array<{ digest: Buffer; services: 'any' | string[]; description: string }> = [];
  if (options.fleetToken) grants.push({ digest: digest(options.fleetToken), services: 'any', description: 'the fleet token' });
  for (const [service, token] of Object.entries(options.serviceTokens ?? {})) {
    const same = grants.find((grant) => grant.services !== 'any' && timingSafeEqual(grant.digest, digest(token)));
    if (same && same.services !== 'any') same.services.push(service);
    else grants.push({ digest: digest(token), services: [service], description: `the token of ${service}` });
  }
  const readAccess = options.readAccess ?? (grants.length > 0 ? 'token' : 'open');
  const anonymous: Caller = {
    description: 'no credentials',
    authenticated: false,
    mayRegister: () => grants.length === 0,
    mayRenew: grants.length === 0,
    mayRead: readAccess === 'open',
  };

  return ({ metadata }) => {
    const header = metadata.get('authorization')[0];
    if (header === undefined || grants.length === 0) return anonymous;
    if (typeof header !== 'string' || !header.startsWith('Bearer ')) {
      throw new UnauthenticatedError('the authorization metadata must be "Bearer <REGISTRY_TOKEN>"');
    }
    // Digests have one length, so every comparison takes the same time; all grants are compared.
    // The first match wins: the fleet token's grant comes first.
    const presented = digest(header.slice('Bearer '.length));
    let match: (typeof grants)[number] | undefined;
    for (const grant of grants) {
      const equal = timingSafeEqual(grant.digest, presented);
      if (equal && !match) match = grant;
    }
    if (!match) throw new UnauthenticatedError('the registry token was rejected (check REGISTRY_TOKEN)');
    const services = match.services;
    return {
      description: match.description,
      authenticated: true,
      mayRegister: (serviceName) => services === 'any' || services.includes(serviceName),
      mayRenew: true,
      mayRead: true,
    };
  };
}
