// Registration and watches given several registries (REGISTRY_ADDRESS=a,b), against real
// registries on free ports: the first one is shut down (its server forced closed, its streams cut)
// and the runtime must carry on with the second.
import { startRegistration, RegistryWatcher, type Registration } from '@switchyard/runtime';
import { eventually, freePort } from '@switchyard/testing';
import { registryCaller } from './registry-calls.test-support';
import pino from 'pino';
import { capturingLogger, WARN } from './capturing-logger.test-support';
import { startRegistry, type TestRegistry } from './registry-server.test-support';

const fast = { retryBackoff: { initialMs: 20, maxMs: 100 } };
const fastReconnect = { initialMs: 20, maxMs: 100 };
const app = { serviceName: 'user', address: '127.0.0.1:50099', version: '1.0.0' };
// Beats every 100 ms, so "a few heartbeat intervals" is well under a second on a quiet machine.
const quick = { heartbeatIntervalMs: 100, leaseTtlMs: 2000 };

describe('several registries', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const registry = async (options: Parameters<typeof startRegistry>[0] = {}): Promise<TestRegistry> => {
    const started = await startRegistry(options);
    let stopped = false;
    const stop = () => {
      if (!stopped) started.stop();
      stopped = true;
    };
    cleanups.push(stop);
    return { ...started, stop };
  };
  const track = <T extends Registration | RegistryWatcher>(thing: T): T => {
    cleanups.push(() => ('close' in thing ? thing.close() : thing.stop()));
    return thing;
  };
  const resolveAt = async (target: TestRegistry, service = 'user') => {
    const caller = registryCaller(target.address);
    try {
      return await caller.resolve(service);
    } finally {
      caller.close();
    }
  };

  describe('registration', () => {
    it('moves to the second registry when the first goes away, registers there on NOT_FOUND, warns once naming both, and deregisters there', async () => {
      const first = await registry(quick);
      const second = await registry(quick);
      const { logger, lines } = capturingLogger();
      // A loaded machine may take longer than the default 2 s to deregister: this is not about the bound.
      const registration = track(startRegistration({ ...app, ...fast, registryAddresses: [first.address, second.address], logger, stopTimeoutMs: 10_000 }));
      await registration.registered;
      expect((await resolveAt(first)).map((i) => i.address)).toEqual([app.address]);
      expect(await resolveAt(second)).toEqual([]);
      const firstId = registration.instanceId();

      first.stop();
      await eventually(async () => (await resolveAt(second)).some((i) => i.address === app.address), 10_000, 'registered at the second registry');
      expect(registration.registryAddress()).toBe(second.address);
      // The second registry keeps its own store: the lease was unknown there, so a new one.
      expect(registration.instanceId()).not.toBe(firstId);
      const warnings = lines.filter((l) => l.level >= WARN && l.msg.includes('moving to'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ from_registry: first.address, to_registry: second.address });
      expect(warnings[0].msg).toContain(first.address);
      expect(warnings[0].msg).toContain(second.address);

      await registration.stop();
      const remaining = await resolveAt(second);
      // What the registration logged, to tell why an instance is left.
      if (remaining.length > 0) throw new Error(`left at the second registry after stop(): ${JSON.stringify(remaining)}\nthe registration logged:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
    });

    it('over a shared store, keeps its lease: heartbeats the second registry with the same instance id, no new Register', async () => {
      const first = await registry(quick);
      const second = await registry({ ...quick, store: first.store });
      const { logger, lines } = capturingLogger();
      const registration = track(startRegistration({ ...app, ...fast, registryAddresses: [first.address, second.address], logger }));
      await registration.registered;
      const id = registration.instanceId();

      first.stop();
      await eventually(
        () => lines.some((l) => l.msg === 'registry reachable again; lease renewed' && l.registry_address === second.address),
        10_000,
        'a heartbeat accepted by the second registry',
      );
      expect(registration.instanceId()).toBe(id);
      expect((await resolveAt(second)).map((i) => i.instanceId)).toEqual([id]);
      expect(lines.filter((l) => l.msg === 'registered with the registry')).toHaveLength(1);
      expect(lines.some((l) => l.msg.includes('does not know this instance'))).toBe(false);
    });

    it('deregisters through another registry when the one in use is gone', async () => {
      // Slow beats: the registration does not notice the first registry left before stop().
      const slow = { heartbeatIntervalMs: 10_000, leaseTtlMs: 30_000 };
      const first = await registry(slow);
      const second = await registry({ ...slow, store: first.store });
      const registration = track(startRegistration({ ...app, ...fast, registryAddresses: [first.address, second.address], logger: pino({ level: 'silent' }) }));
      await registration.registered;
      expect(await resolveAt(second)).toHaveLength(1);

      first.stop();
      await registration.stop();
      // Gone now, not at the lease's expiry 30 s away.
      expect(await resolveAt(second)).toEqual([]);
    });
  });

  describe('watch', () => {
    const addressesOf = (watcher: RegistryWatcher) => watcher.instances()?.map((i) => i.address).sort();

    it("keeps the last snapshot when the first registry goes away, then takes the second's view", async () => {
      const first = await registry();
      const second = await registry();
      first.store.register({ serviceName: 'user', address: '10.0.0.1:1', version: '1' });
      second.store.register({ serviceName: 'user', address: '10.0.0.2:1', version: '1' });
      const watcher = track(new RegistryWatcher({ registryAddresses: [first.address, second.address], serviceName: 'user', reconnectBackoff: fastReconnect, logger: pino({ level: 'silent' }) }));
      const seen: string[][] = [];
      watcher.subscribe((instances) => seen.push(instances.map((i) => i.address)));
      await eventually(() => addressesOf(watcher)?.length === 1, 10_000, "the first registry's snapshot");
      expect(addressesOf(watcher)).toEqual(['10.0.0.1:1']);

      first.stop();
      await eventually(() => addressesOf(watcher)?.[0] === '10.0.0.2:1', 10_000, "the second registry's snapshot");
      expect(watcher.registryAddress).toBe(second.address);
      expect(seen).toEqual([['10.0.0.1:1'], ['10.0.0.2:1']]); // never an empty list in between
      expect(watcher.error()).toBeUndefined();

      // And it follows the second registry's changes.
      second.store.register({ serviceName: 'user', address: '10.0.0.3:1', version: '1' });
      await eventually(() => addressesOf(watcher)?.length === 2, 10_000, 'the change');
    });

    it('keeps the last instances while the second registry has none yet, until the first registers there', async () => {
      const first = await registry();
      const second = await registry();
      first.store.register({ serviceName: 'user', address: '10.0.0.1:1', version: '1' });
      const { logger, lines } = capturingLogger();
      const watcher = track(new RegistryWatcher({ registryAddresses: [first.address, second.address], serviceName: 'user', reconnectBackoff: fastReconnect, failoverGraceMs: 60_000, logger }));
      const seen: string[][] = [];
      watcher.subscribe((instances) => seen.push(instances.map((i) => i.address)));
      await eventually(() => addressesOf(watcher)?.length === 1, 10_000, "the first registry's snapshot");

      first.stop();
      await eventually(() => lines.some((l) => l.msg.includes('knows no instance')), 10_000, "the second registry's empty snapshot");
      expect(addressesOf(watcher)).toEqual(['10.0.0.1:1']);

      second.store.register({ serviceName: 'user', address: '10.0.0.1:1', version: '1' });
      await eventually(() => watcher.instances()?.[0]?.instanceId === second.store.resolve('user')[0].instanceId, 10_000, "the second registry's instance");
      expect(seen.every((list) => list.length === 1)).toBe(true);
    });

    it('takes an empty view from the second registry once the grace has passed', async () => {
      const first = await registry();
      const second = await registry();
      first.store.register({ serviceName: 'user', address: '10.0.0.1:1', version: '1' });
      const watcher = track(new RegistryWatcher({ registryAddresses: [first.address, second.address], serviceName: 'user', reconnectBackoff: fastReconnect, failoverGraceMs: 200, logger: pino({ level: 'silent' }) }));
      await eventually(() => addressesOf(watcher)?.length === 1, 10_000, "the first registry's snapshot");

      first.stop();
      await eventually(() => addressesOf(watcher)?.length === 0, 10_000, 'the empty view');
      expect(watcher.registryAddress).toBe(second.address);
    });

    it('with every registry down, backs off across the list and warns once per move', async () => {
      const addresses = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
      const { logger, lines } = capturingLogger();
      const watcher = track(new RegistryWatcher({ registryAddresses: addresses, serviceName: 'user', reconnectBackoff: { initialMs: 50, maxMs: 400 }, logger }));
      const failedAt: string[] = [];
      watcher.subscribe(
        () => undefined,
        () => failedAt.push(watcher.registryAddress),
      );
      await eventually(() => failedAt.length >= 6, 20_000, 'several failed attempts');
      // Alternates between the two, and only the first move each way is a warning.
      expect(new Set(failedAt)).toEqual(new Set(addresses));
      const warnings = lines.filter((l) => l.level >= WARN);
      expect(warnings.map((l) => [l.from_registry, l.to_registry])).toEqual([
        [addresses[0], addresses[1]],
        [addresses[1], addresses[0]],
      ]);
      // Backing off, not spinning: a few more attempts in the next second, not hundreds.
      const before = failedAt.length;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(failedAt.length - before).toBeLessThan(20);
      expect(watcher.instances()).toBeUndefined();
    });
  });
});
