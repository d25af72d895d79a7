import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import type { CallContext, ServerMiddleware } from '@switchyard/runtime';
import { SUBJECT_METADATA } from '../auth/identity-metadata';

/** The HTTP client's address, set by the gateway's HTTP face on its loopback calls. */
export const CLIENT_ADDRESS_HEADER = 'x-switchyard-client-address';
/** Proves the address header comes from this gateway's HTTP face: a random secret of the process. */
export const CLIENT_ADDRESS_SECRET_HEADER = 'x-switchyard-client-address-secret';

/** `127.0.0.1:5000` → `127.0.0.1`, `[::1]:5000` → `::1`; grpc-js peers, also `ipv4:`/`ipv6:` prefixed. */
export function peerHost(peer: string): string {
  const bare = peer.replace(/^ipv[46]:/, '');
  if (bare.startsWith('[')) return bare.slice(1, bare.indexOf(']'));
  const colon = bare.lastIndexOf(':');
  // Several colons without brackets: an IPv6 address with no port.
  return colon === -1 || bare.indexOf(':') !== colon ? bare : bare.slice(0, colon);
}

export interface ClientAddresses {
  /** Adds the address of an HTTP client to the metadata of its loopback call, with the secret. */
  stamp(metadata: Metadata, address: string): void;
  /**
   * Runs first in the gateway's chain: takes both headers off every call (so no later middleware,
   * handler or upstream sees them) and records the address they name if the secret matches. Also
   * drops a subject header the caller sent: only the auth middleware, after this one, sets it.
   */
  middleware: ServerMiddleware;
  /** The client's address: the HTTP client's for a stamped loopback call, else the gRPC peer's IP. */
  of(call: CallContext): string;
}

/**
 * Client addresses that an outside gRPC client cannot choose: the HTTP face's header counts only
 * with a secret made at start and never sent beyond loopback, compared in constant time.
 */
export function clientAddresses(secret: Buffer = randomBytes(32)): ClientAddresses {
  const secretText = secret.toString('base64url');
  const stamped = new WeakMap<CallContext, string>();
  const trusted = (presented: unknown): boolean => {
    if (typeof presented !== 'string') return false;
    const bytes = Buffer.from(presented);
    const expected = Buffer.from(secretText);
    return bytes.length === expected.length && timingSafeEqual(bytes, expected);
  };
  return {
    stamp: (metadata, address) => {
      metadata.set(CLIENT_ADDRESS_HEADER, address);
      metadata.set(CLIENT_ADDRESS_SECRET_HEADER, secretText);
    },
    middleware: (call, next) => {
      const [address] = call.metadata.get(CLIENT_ADDRESS_HEADER);
      const [presented] = call.metadata.get(CLIENT_ADDRESS_SECRET_HEADER);
      if (address !== undefined || presented !== undefined) {
        call.metadata.remove(CLIENT_ADDRESS_HEADER);
        call.metadata.remove(CLIENT_ADDRESS_SECRET_HEADER);
        if (typeof address === 'string' && address !== '' && trusted(presented)) stamped.set(call, address);
      }
      // Auth drops it too; this keeps a caller from picking its own rate-limit bucket however auth is wired.
      if (call.metadata.get(SUBJECT_METADATA).length > 0) call.metadata.remove(SUBJECT_METADATA);
      return next();
    },
    of: (call) => stamped.get(call) ?? peerHost(call.peer),
  };
}
