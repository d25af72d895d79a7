import { credentials } from '@grpc/grpc-js';
import { registryV1 } from '@switchyard/proto';
import { RegistryWatcher } from '@switchyard/runtime';
import pino from 'pino';
import { eventually } from '@switchyard/testing';
import { startRegistry, type TestRegistry } from './registry-server.test-support';

const fastReconnect = { initialMs: 20, maxMs: 100 };
const addresses = (watcher: RegistryWatcher) => watcher.instances()?.map((i) => i.address).sort();

describe('RegistryWatcher', () => {
  let registry: TestRegistry | undefined;
  let watcher: RegistryWatcher | undefined;
  afterEach(() => {
    watcher?.close();
    registry?.stop();
  });

  it('follows one service: snapshot, then every change, telling listeners the full list', async () => {
    registry = await startRegistry();
    registry.store.register({ serviceName: 'user', address: '10.0.0.1:1', version: '1' });
    registry.store.register({ serviceName: 'order', address: '10.0.0.9:1', version: '1' });
    watcher = new RegistryWatcher({ registryAddresses: [registry.address], serviceName: 'user', logger: pino({ level: 'silent' }) });
    const seen: string[][] = [];
    watcher.subscribe((instances) => seen.push(instances.map((i) => i.address)));

    await eventually(() => seen.length === 1, 10_000, 'the snapshot');
    const second = registry.store.register({ serviceName: 'user', address: '10.0.0.2:1', version: '1' });
    registry.store.heartbeat(second.instanceId, second.leaseSecret, 'DRAINING');
    registry.store.deregister(second.instanceId, second.leaseSecret);
    await eventually(() => seen.length === 4, 10_000, 'three changes');
    expect(seen).toEqual([['10.0.0.1:1'], ['10.0.0.1:1', '10.0.0.2:1'], ['10.0.0.1:1', '10.0.0.2:1'], ['10.0.0.1:1']]);
  });

  it('keeps the last snapshot while the registry is down and catches up when it returns', async () => {
    registry = await startRegistry();
    const port = registry.port;
    registry.store.register({ serviceName: 'user', address: '10.0.0.1:1', version: '1' });
    watcher = new RegistryWatcher({ registryAddresses: [registry.address], serviceName: 'user', reconnectBackoff: fastReconnect, logger: pino({ level: 'silent' }) });
    const errors: Error[] = [];
    watcher.subscribe(() => undefined, (error) => errors.push(error));
    await eventually(() => watcher?.instances()?.length === 1, 10_000, 'the snapshot');

    registry.stop();
    await eventually(() => errors.length >= 2, 10_000, 'failed reconnects');
    expect(addresses(watcher)).toEqual(['10.0.0.1:1']); // still there: calls keep flowing
    expect(watcher.error()).toBeDefined();

    // The registry comes back (empty, then the instances register again, one of them new).
    registry = await startRegistry({ port });
    registry.store.register({ serviceName: 'user', address: '10.0.0.1:1', version: '1' });
    registry.store.register({ serviceName: 'user', address: '10.0.0.3:1', version: '1' });
    await eventually(() => addresses(watcher!)?.length === 2, 10_000, 'the new snapshot');
    expect(addresses(watcher)).toEqual(['10.0.0.1:1', '10.0.0.3:1']);
    expect(watcher.error()).toBeUndefined();
  });

  it('reports an error, with no instances, when the registry was never reachable', async () => {
    watcher = new RegistryWatcher({ registryAddresses: ['127.0.0.1:1'], serviceName: 'user', reconnectBackoff: fastReconnect });
    await eventually(() => watcher?.error(), 10_000, 'the error');
    expect(watcher.instances()).toBeUndefined();
  });

  it('stops following after close(): the registry sees the Watch call end', async () => {
    registry = await startRegistry();
    // Each Watch the registry serves subscribes to the store; it unsubscribes when the call ends.
    const store = registry.store;
    const subscribe = store.watch.bind(store);
    let openWatches = 0;
    jest.spyOn(store, 'watch').mockImplementation((serviceName, listener) => {
      const unsubscribe = subscribe(serviceName, listener);
      openWatches += 1;
      return () => {
        openWatches -= 1;
        unsubscribe();
      };
    });
    // A client the test owns, so close() cannot end the call by closing it: only by cancelling the stream.
    const client = new registryV1.RegistryServiceClient(registry.address, credentials.createInsecure());
    try {
      watcher = new RegistryWatcher({ registryAddresses: [registry.address], serviceName: 'user', connect: () => client });
      await eventually(() => watcher?.instances(), 10_000, 'the snapshot');
      expect(openWatches).toBe(1);
      let calls = 0;
      watcher.subscribe(() => (calls += 1));

      watcher.close();
      await eventually(() => openWatches === 0, 5000, 'the registry to see the Watch call end');
      registry.store.register({ serviceName: 'user', address: '10.0.0.1:1', version: '1' });
      expect(calls).toBe(0);
    } finally {
      client.close();
    }
  });
});
