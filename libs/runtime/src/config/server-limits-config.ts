import { z } from 'zod';
import { parseEnv } from './env-config';

/**
 * What one peer may cost a server, and the matching sizes its clients use. docs/configuration.md
 * lists the variables; the defaults are chosen so that the apps' own
 * traffic (clients pinging every second, gateway fan-out, registry Watch) fits well inside them.
 */
export interface ServerLimits {
  /** Largest request message a server accepts (and its clients send). */
  maxReceiveMessageBytes: number;
  /** Largest response message a server sends (and its clients accept). */
  maxSendMessageBytes: number;
  /** Largest request metadata (header names + values + 32 bytes per entry, as HTTP/2 counts). */
  maxMetadataBytes: number;
  /** Streams one connection may have open at once; clients queue the rest. */
  maxConcurrentStreams: number;
  /** A client pinging more often than this gets GOAWAY ENHANCE_YOUR_CALM ("too_many_pings"). */
  keepaliveMinPingIntervalMs: number;
  /** A connection without calls for this long is closed (GOAWAY); clients reconnect when needed. */
  maxConnectionIdleMs: number;
  /** Connections are closed (GOAWAY) after about this long; undefined: never. */
  maxConnectionAgeMs: number | undefined;
  /** After a max-age GOAWAY, how long calls still running may finish before the connection is cut. */
  maxConnectionAgeGraceMs: number;
  /** HTTP/2 memory one connection may hold (headers, frames not yet written) before new streams are refused. */
  maxSessionMemoryMb: number;
}

const MIB = 1024 * 1024;

/**
 * The defaults, compared with grpc-js 1.14 and gRPC core (C++): receive 256 KiB (both: 4 MiB),
 * because every stream may hold a partial message in memory and a connection has up to 200 of
 * them (50 MiB at most; our largest request is a few KiB); send
 * 4 MiB (the receive limit every gRPC client has by default); metadata 8 KiB (core's default
 * GRPC_ARG_MAX_METADATA_SIZE; grpc-js has none, Node allows 64 KiB); 200 streams per connection
 * (both: unlimited; Node: 2^32-1); pings 500 ms apart at most (core: 5 min, but our clients ping
 * every second to find hung peers; grpc-js does not enforce it at all); idle connections closed
 * after 5 min (both: never); no age limit (both: none), so Watch streams are not cut; session
 * memory 32 MB (Node: 10 MB; grpc-js lifts it to unlimited).
 */
export const DEFAULT_SERVER_LIMITS: ServerLimits = Object.freeze({
  maxReceiveMessageBytes: 256 * 1024,
  maxSendMessageBytes: 4 * MIB,
  maxMetadataBytes: 8 * 1024,
  maxConcurrentStreams: 200,
  keepaliveMinPingIntervalMs: 500,
  maxConnectionIdleMs: 300_000,
  maxConnectionAgeMs: undefined,
  maxConnectionAgeGraceMs: 30_000,
  maxSessionMemoryMb: 32,
});

/** A whole number from `min` to `max`, with what it counts in the messages. */
const boundedInteger = (unit: string, min: number, max: number) =>
  z.coerce
    .number({ error: `expected ${unit}` })
    .int(`expected whole ${unit}`)
    .min(min, `expected ${unit} from ${min} to ${max}`)
    .max(max, `expected ${unit} from ${min} to ${max}`);

// grpc-js keeps sizes and timers in 32-bit signed integers.
const INT32_MAX = 2 ** 31 - 1;

/** Reads the GRPC_* limit variables; unset ones take DEFAULT_SERVER_LIMITS. */
export function loadServerLimits(env: Record<string, string | undefined> = process.env): ServerLimits {
  const d = DEFAULT_SERVER_LIMITS;
  const parsed = parseEnv(
    {
      GRPC_MAX_RECEIVE_MESSAGE_BYTES: boundedInteger('bytes', 1024, INT32_MAX).default(d.maxReceiveMessageBytes),
      GRPC_MAX_SEND_MESSAGE_BYTES: boundedInteger('bytes', 1024, INT32_MAX).default(d.maxSendMessageBytes),
      // Below 1 KiB even the headers every call carries (content-type, te, traceparent) do not fit.
      GRPC_MAX_METADATA_BYTES: boundedInteger('bytes', 1024, 64 * 1024).default(d.maxMetadataBytes),
      GRPC_MAX_CONCURRENT_STREAMS: boundedInteger('streams', 1, 100_000).default(d.maxConcurrentStreams),
      GRPC_KEEPALIVE_MIN_PING_INTERVAL_MS: boundedInteger('milliseconds', 0, INT32_MAX).default(d.keepaliveMinPingIntervalMs),
      GRPC_MAX_CONNECTION_IDLE_MS: boundedInteger('milliseconds', 1, INT32_MAX).default(d.maxConnectionIdleMs),
      GRPC_MAX_CONNECTION_AGE_MS: boundedInteger('milliseconds', 1, INT32_MAX).optional(),
      GRPC_MAX_CONNECTION_AGE_GRACE_MS: boundedInteger('milliseconds', 0, INT32_MAX).default(d.maxConnectionAgeGraceMs),
      GRPC_MAX_SESSION_MEMORY_MB: boundedInteger('megabytes', 1, 4096).default(d.maxSessionMemoryMb),
    },
    env,
  );
  return Object.freeze({
    maxReceiveMessageBytes: parsed.GRPC_MAX_RECEIVE_MESSAGE_BYTES,
    maxSendMessageBytes: parsed.GRPC_MAX_SEND_MESSAGE_BYTES,
    maxMetadataBytes: parsed.GRPC_MAX_METADATA_BYTES,
    maxConcurrentStreams: parsed.GRPC_MAX_CONCURRENT_STREAMS,
    keepaliveMinPingIntervalMs: parsed.GRPC_KEEPALIVE_MIN_PING_INTERVAL_MS,
    maxConnectionIdleMs: parsed.GRPC_MAX_CONNECTION_IDLE_MS,
    maxConnectionAgeMs: parsed.GRPC_MAX_CONNECTION_AGE_MS,
    maxConnectionAgeGraceMs: parsed.GRPC_MAX_CONNECTION_AGE_GRACE_MS,
    maxSessionMemoryMb: parsed.GRPC_MAX_SESSION_MEMORY_MB,
  });
}
