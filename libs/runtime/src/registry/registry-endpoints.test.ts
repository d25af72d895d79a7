import { RegistryEndpoints } from './registry-endpoints';

/** A client that records whether it was closed, numbered in the order connect() made them. */
function recordingConnect() {
  const made: { address: string; closed: boolean; close(): void }[] = [];
  const connect = (address: string) => {
    const client = {
      address,
      closed: false,
      close() {
        client.closed = true;
      },
    };
    made.push(client);
    return client;
  };
  return { made, connect };
}

const unreachable = Object.assign(new Error('14 UNAVAILABLE: connect ECONNREFUSED'), { code: 14 });

describe('RegistryEndpoints', () => {
  it('moves to the next registry when the one in use fails, and wraps to the first after the last', () => {
    const { connect } = recordingConnect();
    const endpoints = new RegistryEndpoints({ addresses: ['a:1', 'b:1'], connect, ownsClients: true });
    expect(endpoints.address).toBe('a:1');
    expect(endpoints.moveOn('a:1', 'heartbeat', unreachable)).toBe(true);
    expect(endpoints.address).toBe('b:1');
    // A stale failure of a registry no longer in use moves nothing.
    expect(endpoints.moveOn('a:1', 'heartbeat', unreachable)).toBe(false);
    expect(endpoints.moveOn('b:1', 'heartbeat', unreachable)).toBe(true);
    expect(endpoints.address).toBe('a:1');
  });

  it('dials a failed registry anew: its client is closed and the next use makes a new one, even with a single registry', () => {
    // A registry recreated under the same name at a new IP is only found by a new channel.
    const { made, connect } = recordingConnect();
    const endpoints = new RegistryEndpoints({ addresses: ['registry:50051'], connect, ownsClients: true });
    const first = endpoints.client;
    expect(endpoints.client).toBe(first);
    expect(endpoints.moveOn('registry:50051', 'heartbeat', unreachable)).toBe(false);
    expect(first.closed).toBe(true);
    const second = endpoints.client;
    expect(second).not.toBe(first);
    expect(second.closed).toBe(false);
    expect(made.map((client) => client.address)).toEqual(['registry:50051', 'registry:50051']);
  });

  it('leaves clients it does not own open', () => {
    const { made, connect } = recordingConnect();
    const endpoints = new RegistryEndpoints({ addresses: ['a:1', 'b:1'], connect, ownsClients: false });
    const first = endpoints.client;
    endpoints.moveOn('a:1', 'heartbeat', unreachable);
    expect(first.closed).toBe(false);
    endpoints.close();
    expect(made.every((client) => !client.closed)).toBe(true);
  });
});
