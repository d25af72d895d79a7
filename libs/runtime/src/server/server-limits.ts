import type { ServerOptions } from '@grpc/grpc-js';
import type { ServerLimits } from '../config/server-limits-config';
import { metadataSizeInterceptor } from './metadata-size-interceptor';

/** How often the server pings a connection that has been silent, to find clients that vanished. */
const SERVER_KEEPALIVE_TIME_MS = 60_000;
const SERVER_KEEPALIVE_TIMEOUT_MS = 20_000;

/**
 * grpc-js server options enforcing `limits`, with `extra` options added (winning over them; its
 * interceptors run after the limits' own). The ping interval is not among them: grpc-js does not
 * enforce one, so serve() guards each connection itself (ping-rate-guard.ts).
 */
export function serverOptionsFor(limits: ServerLimits, extra: ServerOptions = {}): ServerOptions {
  return {
    'grpc.max_receive_message_length': limits.maxReceiveMessageBytes,
    'grpc.max_send_message_length': limits.maxSendMessageBytes,
    'grpc.max_concurrent_streams': limits.maxConcurrentStreams,
    'grpc.max_connection_idle_ms': limits.maxConnectionIdleMs,
    ...(limits.maxConnectionAgeMs === undefined
      ? {}
      : { 'grpc.max_connection_age_ms': limits.maxConnectionAgeMs, 'grpc.max_connection_age_grace_ms': limits.maxConnectionAgeGraceMs }),
    'grpc-node.max_session_memory': limits.maxSessionMemoryMb,
    'grpc.keepalive_time_ms': SERVER_KEEPALIVE_TIME_MS,
    'grpc.keepalive_timeout_ms': SERVER_KEEPALIVE_TIMEOUT_MS,
    ...extra,
    interceptors: [metadataSizeInterceptor(limits.maxMetadataBytes), ...(extra.interceptors ?? [])],
  };
}

