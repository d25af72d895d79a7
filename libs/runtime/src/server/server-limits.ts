import type { ServerOptions } from '@grpc/grpc-js';
import type { ServerLimits } from '../config/server-limits-config';

/** How often the server pings a connection that has been silent, to find clients that vanished. */
const SERVER_KEEPALIVE_TIME_MS = 60_000;
const SERVER_KEEPALIVE_TIMEOUT_MS = 20_000;

/**
 * grpc-js server options enforcing `limits`, with `extra` options added (winning over them). The
 * request metadata size and the ping interval are not among them: grpc-js enforces neither, so
 * GrpcServer wraps each handler (metadata-size-limit.ts) and guards each connection
 * (ping-rate-guard.ts) itself.
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
  };
}

