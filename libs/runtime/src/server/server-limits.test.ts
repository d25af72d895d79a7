import { DEFAULT_SERVER_LIMITS } from '../config/server-limits-config';
import { serverOptionsFor } from './server-limits';

describe('serverOptionsFor', () => {
  it('turns the limits into the grpc-js options that enforce them', () => {
    const options = serverOptionsFor({ ...DEFAULT_SERVER_LIMITS, maxConnectionAgeMs: 60_000 });
    expect(options).toMatchObject({
      'grpc.max_receive_message_length': 256 * 1024,
      'grpc.max_send_message_length': 4 * 1024 * 1024,
      'grpc.max_concurrent_streams': 200,
      'grpc.max_connection_idle_ms': 300_000,
      'grpc.max_connection_age_ms': 60_000,
      'grpc.max_connection_age_grace_ms': 30_000,
      'grpc-node.max_session_memory': 32,
    });
    expect(options.interceptors).toBeUndefined();
  });

  it('sets no connection age unless one is configured (grpc-js: none)', () => {
    expect(serverOptionsFor(DEFAULT_SERVER_LIMITS)).not.toHaveProperty('grpc.max_connection_age_ms');
  });

  it("lets the caller's own options win over the limits'", () => {
    const options = serverOptionsFor(DEFAULT_SERVER_LIMITS, { 'grpc.max_concurrent_streams': 10 });
    expect(options['grpc.max_concurrent_streams']).toBe(10);
  });
});
