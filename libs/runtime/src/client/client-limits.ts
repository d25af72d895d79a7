import type { ChannelOptions } from '@grpc/grpc-js';
import { DEFAULT_SERVER_LIMITS, type ServerLimits } from '../config/server-limits-config';

/**
 * Channel options of a client of servers that enforce `limits` (ours all read the same GRPC_*
 * variables): it sends no message they would refuse and accepts any they may send (see
 * allowedKeepaliveTimeMs for pings).
 */
export function clientLimitOptions(limits: ServerLimits = DEFAULT_SERVER_LIMITS): ChannelOptions {
  return {
    'grpc.max_send_message_length': limits.maxReceiveMessageBytes,
    'grpc.max_receive_message_length': limits.maxSendMessageBytes,
  };
}

/**
 * The keepalive interval a client should use when it wants `desiredMs`: never under twice the
 * servers' minimum ping interval, so late timers never make two pings look too close together.
 */
export function allowedKeepaliveTimeMs(desiredMs: number, limits: ServerLimits = DEFAULT_SERVER_LIMITS): number {
  return Math.max(desiredMs, 2 * limits.keepaliveMinPingIntervalMs);
}
