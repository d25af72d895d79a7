import { DEFAULT_SERVER_LIMITS } from '../config/server-limits-config';
import { allowedKeepaliveTimeMs, clientLimitOptions } from './client-limits';

describe('client limits', () => {
  it('sends at most what the servers receive and accepts what they send', () => {
    expect(clientLimitOptions({ ...DEFAULT_SERVER_LIMITS, maxReceiveMessageBytes: 2048, maxSendMessageBytes: 8192 })).toEqual({
      'grpc.max_send_message_length': 2048,
      'grpc.max_receive_message_length': 8192,
    });
  });

  it('keeps pings at least twice the servers minimum interval apart', () => {
    expect(allowedKeepaliveTimeMs(1_000)).toBe(1_000);
    expect(allowedKeepaliveTimeMs(1_000, { ...DEFAULT_SERVER_LIMITS, keepaliveMinPingIntervalMs: 2_000 })).toBe(4_000);
    expect(allowedKeepaliveTimeMs(1_000, { ...DEFAULT_SERVER_LIMITS, keepaliveMinPingIntervalMs: 0 })).toBe(1_000);
  });
});
