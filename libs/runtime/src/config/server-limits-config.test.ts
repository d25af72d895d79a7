import { ConfigError } from './env-config';
import { DEFAULT_SERVER_LIMITS, loadServerLimits } from './server-limits-config';

describe('loadServerLimits', () => {
  it('applies the documented defaults', () => {
    const limits = loadServerLimits({});
    expect(limits).toEqual({
      maxReceiveMessageBytes: 256 * 1024,
      maxSendMessageBytes: 4 * 1024 * 1024,
      maxMetadataBytes: 8192,
      maxConcurrentStreams: 200,
      keepaliveMinPingIntervalMs: 500,
      maxConnectionIdleMs: 300_000,
      maxConnectionAgeMs: undefined,
      maxConnectionAgeGraceMs: 30_000,
      maxSessionMemoryMb: 32,
    });
    expect(limits).toEqual(DEFAULT_SERVER_LIMITS);
    expect(Object.isFrozen(limits)).toBe(true);
  });

  it('reads every variable', () => {
    expect(
      loadServerLimits({
        GRPC_MAX_RECEIVE_MESSAGE_BYTES: '2048',
        GRPC_MAX_SEND_MESSAGE_BYTES: '4096',
        GRPC_MAX_METADATA_BYTES: '16384',
        GRPC_MAX_CONCURRENT_STREAMS: '1000',
        GRPC_KEEPALIVE_MIN_PING_INTERVAL_MS: '0',
        GRPC_MAX_CONNECTION_IDLE_MS: '60000',
        GRPC_MAX_CONNECTION_AGE_MS: '1800000',
        GRPC_MAX_CONNECTION_AGE_GRACE_MS: '0',
        GRPC_MAX_SESSION_MEMORY_MB: '64',
      }),
    ).toEqual({
      maxReceiveMessageBytes: 2048,
      maxSendMessageBytes: 4096,
      maxMetadataBytes: 16384,
      maxConcurrentStreams: 1000,
      keepaliveMinPingIntervalMs: 0,
      maxConnectionIdleMs: 60_000,
      maxConnectionAgeMs: 1_800_000,
      maxConnectionAgeGraceMs: 0,
      maxSessionMemoryMb: 64,
    });
  });

  it('names every bad variable, its value and the range it expects', () => {
    let error: unknown;
    try {
      loadServerLimits({ GRPC_MAX_RECEIVE_MESSAGE_BYTES: '1MB', GRPC_MAX_CONCURRENT_STREAMS: '0', GRPC_MAX_METADATA_BYTES: '1048576' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('GRPC_MAX_RECEIVE_MESSAGE_BYTES="1MB": expected bytes');
    expect(message).toContain('GRPC_MAX_CONCURRENT_STREAMS="0": expected streams from 1 to 100000');
    expect(message).toContain('GRPC_MAX_METADATA_BYTES="1048576": expected bytes from 1024 to 65536');
  });
});
