import type { Metadata } from '@grpc/grpc-js';
import { activeCallContext } from '@switchyard/runtime';

/**
 * Adds to `outgoing` (a call upstream) the values of `keys` the gateway's own caller sent: the
 * headers that pin a version (routingHeaderNames). Explicit, so nothing else a caller sends goes
 * further than the gateway; its identity travels as x-switchyard-* (downstreamMetadata).
 */
export function withCallerHeaders(outgoing: Metadata, keys: readonly string[]): Metadata {
  const incoming = activeCallContext()?.metadata;
  if (!incoming) return outgoing;
  for (const key of keys) {
    for (const value of incoming.get(key)) if (typeof value === 'string') outgoing.add(key, value);
  }
  return outgoing;
}
