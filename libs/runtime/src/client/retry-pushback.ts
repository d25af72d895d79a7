import type { Metadata } from '@grpc/grpc-js';

/** Trailer by which a server tells the client when (or whether) to retry (gRFC A6). */
export const RETRY_PUSHBACK_KEY = 'grpc-retry-pushback-ms';

/**
 * What the server's `grpc-retry-pushback-ms` trailer asks for: `undefined` when it sent none
 * (use the computed backoff), a delay in ms for a non-negative integer (wait exactly that long),
 * or `'stop'` for a negative or malformed value (do not retry this call).
 */
export function serverPushback(trailers: Metadata | undefined): number | 'stop' | undefined {
  const values = trailers?.get(RETRY_PUSHBACK_KEY) ?? [];
  if (values.length === 0) return undefined;
  const text = String(values[0]).trim();
  if (!/^\d+$/.test(text)) return 'stop';
  const ms = Number(text);
  return Number.isSafeInteger(ms) ? ms : 'stop';
}
