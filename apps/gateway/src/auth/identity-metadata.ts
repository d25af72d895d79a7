import { Metadata } from '@grpc/grpc-js';
import { activeCallContext } from '@switchyard/runtime';

/** The caller's verified subject (the token's `sub`), set by the gateway's auth middleware only. */
export const SUBJECT_METADATA = 'x-switchyard-subject';
/** The caller's verified roles, comma-separated, set by the gateway's auth middleware only. */
export const ROLES_METADATA = 'x-switchyard-roles';

const INTERNAL_PREFIX = 'x-switchyard-';

/**
 * Removes every `x-switchyard-*` entry an outside client sent, so whatever the gateway sets there
 * afterwards (and services behind it read) is the gateway's word, never the client's.
 */
export function stripInternalMetadata(metadata: Metadata): void {
  for (const key of Object.keys(metadata.getMap())) {
    if (key.startsWith(INTERNAL_PREFIX)) metadata.remove(key);
  }
}

/**
 * Metadata for a call upstream made while handling an incoming call: the `x-switchyard-*`
 * entries the gateway set on it (already stripped of the client's own), and nothing else of
 * the caller's: no `authorization`, no other headers.
 */
export function downstreamMetadata(): Metadata {
  const outgoing = new Metadata();
  const incoming = activeCallContext()?.metadata;
  if (!incoming) return outgoing;
  for (const [key, value] of Object.entries(incoming.getMap())) {
    if (key.startsWith(INTERNAL_PREFIX) && typeof value === 'string') outgoing.set(key, value);
  }
  return outgoing;
}
