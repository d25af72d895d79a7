import { credentials, type ServiceError } from '@grpc/grpc-js';
import { registryV1 } from '@switchyard/proto';
import { NotFoundError, startRegistration, type Registration } from '@switchyard/runtime';
import { ManualClock } from '@switchyard/runtime/testing';
import { eventually, freePort } from '@switchyard/testing';
import pino from 'pino';
import { capturingLogger, WARN } from './capturing-logger.test-support';
import { startRegistry, type TestRegistry } from './registry-server.test-support';

const fast = { retryBackoff: { initialMs: 20, maxMs: 100 } };
const app = { serviceName: 'user', address: '127.0.0.1:50052', version: '1.0.0' };

describe('startRegistration against a real registry', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const track = <T extends Registration | TestRegistry>(thing: T): T => {
    cleanups.push(() => thing.stop());
    return thing;
  };

  it('keeps trying while the registry is down and registers once it comes up, warning once', async () => {
    const port = await freePort();
    const registryAddress = `127.0.0.1:${port}`;
    const { logger, lines } = capturingLogger();
    const registration = track(startRegistration({ ...app, ...fast, registryAddresses: [registryAddress], logger }));

    // Several attempts fail; only the first says so at warn, naming the registry.
    await eventually(() => lines.filter((l) => l.msg.includes('failed again')).length >= 3, 10_000, 'repeated attempts');
    const warnings = lines.filter((l) => l.level >= WARN);
    expect(warnings).toHaveLength(1);
    expect(warnings[0].msg).toContain(registryAddress);
    expect(registration.instanceId()).toBeUndefined();

    const registry = track(await startRegistry({ port }));
    await registration.registered;
    expect(registry.store.resolve('user').map((i) => [i.instanceId, i.address])).toEqual([[registration.instanceId(), app.address]]);
  });

  it('registers again at once when a fresh, empty registry replaces the old one', async () => {
    const first = await startRegistry({ heartbeatIntervalMs: 100, leaseTtlMs: 2000 });
    const registration = track(startRegistration({ ...app, ...fast, registryAddresses: [first.address], logger: pino({ level: 'silent' }) }));
    await registration.registered;
    const firstId = registration.instanceId();
    first.stop();

    const second = track(await startRegistry({ port: first.port, heartbeatIntervalMs: 100, leaseTtlMs: 2000 }));
    const [instance] = await eventually(() => {
      const found = second.store.resolve('user');
      return found.length > 0 && found;
    }, 10_000, 'registration with the new registry');
    expect(instance.instanceId).not.toBe(firstId);
    // The registry stores the instance before its answer reaches the registration.
    await eventually(() => registration.instanceId() === instance.instanceId, 10_000, 'the registration to take the new id');
  });

  it('heartbeats keep the lease alive past its TTL, and stop() deregisters at once', async () => {
    // Leases run on a manual clock: they expire when the test moves it, not when the machine is slow.
    const clock = new ManualClock();
    const leaseTtlMs = 300;
    const registry = track(await startRegistry({ heartbeatIntervalMs: 100, leaseTtlMs, now: clock.now }));
    const registration = startRegistration({ ...app, ...fast, registryAddresses: [registry.address], logger: pino({ level: 'silent' }) });
    await registration.registered;
    const id = registration.instanceId();
    const leaseExpiry = () => registry.store.resolve('user')[0]?.leaseExpiresAt;
    // Two-thirds of a TTL at a time, three times (two TTLs in all): each time a heartbeat renews
    // the lease before it runs out.
    for (let round = 0; round < 3; round += 1) {
      clock.advance(200);
      await eventually(() => leaseExpiry() === clock.now() + leaseTtlMs, 10_000, `a heartbeat renewing the lease (round ${round + 1})`);
    }
    expect(registry.store.resolve('user').map((i) => i.instanceId)).toEqual([id]);

    await registration.stop();
    expect(registry.store.resolve('user')).toEqual([]); // gone now: the lease clock has not moved
    expect(registration.instanceId()).toBeUndefined();
  });

  it('stop() returns when the registry is gone', async () => {
    const registry = await startRegistry();
    const registration = startRegistration({ ...app, ...fast, registryAddresses: [registry.address], logger: pino({ level: 'silent' }), stopTimeoutMs: 300 });
    await registration.registered;
    registry.stop();
    await registration.stop();
    expect(registration.instanceId()).toBeUndefined();
  });

  it('stop() gives up deregistering after stopTimeoutMs when the registry does not answer', async () => {
    const registry = track(await startRegistry());
    const registration = startRegistration({ ...app, ...fast, registryAddresses: [registry.address], logger: pino({ level: 'silent' }), stopTimeoutMs: 300 });
    await registration.registered;
    // The registry takes the Deregister call and never answers it.
    jest.spyOn(registry.store, 'deregister').mockImplementation(() => new Promise<void>(() => undefined));
    let guard: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      registration.stop().then(() => 'stopped'),
      // Far beyond the 300 ms bound: only a stop() without a bound gets here.
      new Promise((resolve) => (guard = setTimeout(() => resolve('still stopping after 10 s'), 10_000))),
    ]);
    clearTimeout(guard);
    expect(outcome).toBe('stopped');
  });

  it('setState tells the registry (DRAINING) with the next heartbeat, at once', async () => {
    const registry = track(await startRegistry());
    const registration = track(startRegistration({ ...app, ...fast, registryAddresses: [registry.address], logger: pino({ level: 'silent' }) }));
    await registration.registered;
    await registration.setState(registryV1.InstanceState.INSTANCE_STATE_DRAINING);
    expect(registry.store.resolve('user')[0].state).toBe('DRAINING');
  });

  it('sends the token to a registry that requires one', async () => {
    const registry = track(await startRegistry({ token: 's3cret' }));
    const refused = capturingLogger();
    const without = track(startRegistration({ ...app, ...fast, registryAddresses: [registry.address], logger: refused.logger }));
    const withToken = track(startRegistration({ ...app, ...fast, address: '127.0.0.1:50099', registryAddresses: [registry.address], token: 's3cret', logger: pino({ level: 'silent' }) }));
    await withToken.registered;
    await eventually(() => refused.lines.some((l) => l.msg.includes('check REGISTRY_TOKEN')), 10_000, 'the token error');
    expect(without.instanceId()).toBeUndefined();
    expect(registry.store.resolve('user').map((i) => i.address)).toEqual(['127.0.0.1:50099']);
  });

  it('waits out another live lease at its address, warning once, and takes the address when it expires', async () => {
    const clock = new ManualClock();
    let issued = 0;
    const registry = track(await startRegistry({ heartbeatIntervalMs: 100, leaseTtlMs: 1000, now: clock.now, newSecret: () => `known-secret-${++issued}` }));
    // An earlier run of this instance that died without deregistering.
    const ghost = registry.store.register(app);
    const { logger, lines } = capturingLogger();
    const registration = track(startRegistration({ ...app, ...fast, registryAddresses: [registry.address], logger }));
    await eventually(() => lines.filter((l) => l.msg.includes('failed again')).length >= 3, 10_000, 'repeated attempts');
    const warnings = lines.filter((l) => l.level >= WARN);
    expect(warnings.map((l) => l.msg)).toEqual([expect.stringContaining(`another live lease holds ${app.address}`)]);
    expect(registry.store.resolve('user').map((i) => i.instanceId)).toEqual([ghost.instanceId]);

    clock.advance(1000);
    await registration.registered;
    expect(registry.store.resolve('user').map((i) => i.instanceId)).toEqual([registration.instanceId()]);
    // Its own lease: it heartbeats and deregisters with the secret it got, and never logs it.
    clock.advance(500);
    await eventually(() => registry.store.resolve('user')[0]?.leaseExpiresAt === clock.now() + 1000, 10_000, 'a heartbeat');
    await registration.stop();
    expect(registry.store.resolve('user')).toEqual([]);
    expect(JSON.stringify(lines)).not.toContain('known-secret');
  });

  it('takes its own address back with its old secret when the registry forgot its id', async () => {
    const registry = track(await startRegistry({ heartbeatIntervalMs: 100, leaseTtlMs: 60_000 }));
    const registration = track(startRegistration({ ...app, ...fast, registryAddresses: [registry.address], logger: pino({ level: 'silent' }) }));
    await registration.registered;
    const firstId = registration.instanceId();
    // The id is unknown to heartbeats now, while the address is still held by a live lease (e.g. a
    // registry that lost only its id index): the re-register must present the secret to win it back.
    const heartbeats = jest.spyOn(registry.store, 'heartbeat').mockImplementationOnce(() => {
      throw new NotFoundError('instance', firstId!);
    });
    await eventually(() => registration.instanceId() !== undefined && registration.instanceId() !== firstId, 10_000, 'a new id');
    heartbeats.mockRestore();
    expect(registry.store.resolve('user').map((i) => i.instanceId)).toEqual([registration.instanceId()]);
  });

  it('evicts an instance that stops heartbeating once its TTL is over, by the sweep, telling watchers', async () => {
    const clock = new ManualClock();
    const leaseTtlMs = 600;
    const registry = track(await startRegistry({ heartbeatIntervalMs: 200, leaseTtlMs, sweepIntervalMs: 20, now: clock.now }));
    const client = new registryV1.RegistryServiceClient(registry.address, credentials.createInsecure());
    cleanups.push(() => client.close());
    // Registers once and never heartbeats: a process that died.
    const instanceId = await new Promise<string>((resolve, reject) =>
      client.register(registryV1.RegisterRequest.fromPartial(app), (error: ServiceError | null, response?: registryV1.RegisterResponse) =>
        error ? reject(error) : resolve(response!.instance!.instanceId),
      ),
    );
    const messages: registryV1.WatchResponse[] = [];
    const stream = client.watch({ serviceName: 'user' });
    cleanups.push(() => stream.cancel());
    stream.on('error', () => undefined);
    stream.on('data', (message: registryV1.WatchResponse) => void messages.push(message));
    await eventually(() => messages.length === 1, 10_000, 'the snapshot');
    const sweeps = jest.spyOn(registry.store, 'sweep');

    // A millisecond short of the TTL: the sweeps (on real time, every 20 ms) leave it.
    clock.advance(leaseTtlMs - 1);
    await eventually(() => sweeps.mock.results.length >= 3, 10_000, 'three sweeps');
    expect(sweeps.mock.results.every((result) => result.type === 'return' && result.value.length === 0)).toBe(true);
    expect(registry.store.resolve('user').map((i) => i.instanceId)).toEqual([instanceId]);

    // TTL over: the next sweep evicts it, and watchers hear of it.
    clock.advance(1);
    const removal = await eventually(() => messages.find((m) => m.type === registryV1.WatchEventType.WATCH_EVENT_TYPE_REMOVE), 10_000, 'the eviction');
    expect(removal.instances.map((i) => i.instanceId)).toEqual([instanceId]);
  });
});
