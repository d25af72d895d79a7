import { Metadata } from '@grpc/grpc-js';
import { SUBJECT_HEADER } from '@switchyard/runtime';

/**
 * What the gateway passes on from its callers to the services it calls: the headers that pin a
 * version (routingHeaderNames) and the subject its auth sets, which sticky routing rules hash.
 * Nothing else a caller sends goes further than the gateway.
 */
export function forwardedMetadataKeys(routingHeaders: readonly string[]): string[] {
  return [...new Set([...routingHeaders, SUBJECT_HEADER])];
}

/** The `keys` of `incoming` (string values only), as metadata of a call upstream. */
export function forwardedFrom(incoming: Metadata | undefined, keys: readonly string[]): Metadata {
  const outgoing = new Metadata();
  if (!incoming) return outgoing;
  for (const key of keys) {
    for (const value of incoming.get(key)) if (typeof value === 'string') outgoing.add(key, value);
  }
  return outgoing;
}
