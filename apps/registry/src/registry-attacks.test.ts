// Attacks on the registry over real sockets: a real registry server on an ephemeral port, real
// grpc-js clients for the attacker and for the well-behaved instances beside it, which must keep
// working whatever the attacker does.
import { status as Status } from '@grpc/grpc-js';
import { registryV1 } from '@switchyard/proto';
import { RegistryWatcher, startRegistration, type Registration } from '@switchyard/runtime';
import { eventually } from '@switchyard/testing';
import pino from 'pino';
import { DEFAULT_REGISTRY_LIMITS, largestSnapshotBytes } from './registry-limits';
import { failure, registryCaller, type RegistryCaller } from './registry-calls.test-support';
import { startRegistry, type TestRegistry, type TestRegistryOptions } from './registry-server.test-support';

const { InstanceState } = registryV1;
const logger = pino({ level: 'silent' });
const USER_TOKEN = 'user-token-0123456789abcdef';
const ORDER_TOKEN = 'order-token-0123456789abcdef';
const FLEET_TOKEN = 'fleet-token-0123456789abcdef';
const victimApp = { serviceName: 'user', address: '127.0.0.1:41001', version: '1.0.0' };

describe('registry attacks', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const registry = async (options: TestRegistryOptions = {}): Promise<TestRegistry> => {
    const started = await startRegistry(options);
    cleanups.push(() => started.stop());
    return started;
  };
  const caller = (target: TestRegistry, token?: string): RegistryCaller => {
    const made = registryCaller(target.address, token);
    cleanups.push(() => made.close());
    return made;
  };
  /** A well-behaved instance, kept registered by the runtime's own registration. */
  const victim = async (target: TestRegistry, token?: string): Promise<Registration> => {
    const registration = startRegistration({ ...victimApp, registryAddresses: [target.address], token, logger, retryBackoff: { initialMs: 20, maxMs: 100 } });
    cleanups.push(() => registration.stop());
    await registration.registered;
    return registration;
  };

  it('Deregister and Heartbeat(DRAINING) of another instance id answer PERMISSION_DENIED, and it stays SERVING', async () => {
    const target = await registry({ heartbeatIntervalMs: 100, leaseTtlMs: 2000 });
    const owner = await victim(target);
    const attacker = caller(target);
    const [seen] = await attacker.resolve('user'); // what Resolve hands anyone
    expect(seen.instanceId).toBe(owner.instanceId());

    for (const leaseSecret of ['', 'guessed-secret']) {
      const deregistered = await failure(attacker.deregister({ instanceId: seen.instanceId, leaseSecret }));
      expect([deregistered.code, deregistered.details]).toEqual([Status.PERMISSION_DENIED, expect.stringContaining('send the lease_secret')]);
      const drained = await failure(attacker.heartbeat({ instanceId: seen.instanceId, leaseSecret, state: InstanceState.INSTANCE_STATE_DRAINING }));
      expect(drained.code).toBe(Status.PERMISSION_DENIED);
    }
    // Another instance's own secret is no good either.
    const other = await attacker.register({ serviceName: 'user', address: '127.0.0.1:41002', version: '1' });
    expect((await failure(attacker.deregister({ instanceId: seen.instanceId, leaseSecret: other.leaseSecret }))).code).toBe(Status.PERMISSION_DENIED);

    // The owner keeps its place and its lease, beat after beat.
    const before = (await attacker.resolve('user')).find((i) => i.instanceId === seen.instanceId)!;
    expect(before.state).toBe(InstanceState.INSTANCE_STATE_SERVING);
    await eventually(async () => {
      const now = (await attacker.resolve('user')).find((i) => i.instanceId === seen.instanceId);
      return now !== undefined && now.leaseExpireTime!.getTime() > before.leaseExpireTime!.getTime();
    }, 10_000, 'a heartbeat of the owner after the attack');
    expect(owner.instanceId()).toBe(seen.instanceId);
  });

  it('Register at a live instance\'s address answers ALREADY_EXISTS naming it, and the victim keeps its place', async () => {
    const target = await registry({ heartbeatIntervalMs: 100, leaseTtlMs: 2000 });
    const owner = await victim(target);
    const attacker = caller(target);
    const refused = await failure(attacker.register({ ...victimApp, version: 'evil' }));
    expect([refused.code, refused.details]).toEqual([Status.ALREADY_EXISTS, expect.stringContaining(`address ${victimApp.address} is held by a live instance of user`)]);
    const guessed = await failure(attacker.register({ ...victimApp, leaseSecret: 'A'.repeat(43) }));
    expect(guessed.code).toBe(Status.ALREADY_EXISTS);
    expect((await attacker.resolve('user')).map((i) => [i.instanceId, i.version])).toEqual([[owner.instanceId(), '1.0.0']]);
  });

  it('the restarted owner presenting its old secret takes its address back at once', async () => {
    // A lease far longer than the test: only the secret can free the address in time.
    const target = await registry({ heartbeatIntervalMs: 100, leaseTtlMs: 60_000 });
    const owner = caller(target);
    const first = await owner.register(victimApp);
    const watcher = new RegistryWatcher({ registryAddresses: [target.address], serviceName: 'user', logger });
    cleanups.push(() => watcher.close());
    const seen: string[][] = [];
    watcher.subscribe((instances) => seen.push(instances.map((i) => i.instanceId)));
    await eventually(() => seen.length > 0, 10_000, 'the snapshot');

    const second = await owner.register({ ...victimApp, leaseSecret: first.leaseSecret });
    expect(second.instance!.instanceId).not.toBe(first.instance!.instanceId);
    expect(second.leaseSecret).not.toBe(first.leaseSecret);
    expect((await owner.resolve('user')).map((i) => i.instanceId)).toEqual([second.instance!.instanceId]);
    await eventually(() => seen.at(-1)?.join() === second.instance!.instanceId, 10_000, 'watchers to see the new instance alone');
    // The old secret died with the old lease.
    expect((await failure(owner.heartbeat({ instanceId: second.instance!.instanceId, leaseSecret: first.leaseSecret }))).code).toBe(Status.PERMISSION_DENIED);
  });

  it.each([
    ['169.254.169.254:80', 'must not be link-local (169.254.169.254)'],
    ['[fe80::1]:80', 'must not be link-local ([fe80::1])'],
    ['[::ffff:169.254.169.254]:80', 'must not be link-local'],
    ['0.0.0.0:80', 'must be an address other processes can dial, not 0.0.0.0'],
  ])('Register at %s is refused with INVALID_ARGUMENT naming the address', async (address, message) => {
    const target = await registry();
    const attacker = caller(target);
    const refused = await failure(attacker.register({ serviceName: 'user', address, version: '1' }));
    expect([refused.code, refused.details]).toEqual([Status.INVALID_ARGUMENT, expect.stringContaining(`address: ${message}`)]);
    expect(await attacker.resolve('user')).toEqual([]);
  });

  it('accepts link-local addresses when REGISTRY_ALLOW_LINK_LOCAL says so', async () => {
    const target = await registry({ limits: { ...DEFAULT_REGISTRY_LIMITS, allowLinkLocal: true } });
    await caller(target).register({ serviceName: 'user', address: '169.254.10.1:80', version: '1' });
  });

  it('a token for user may register user only: order answers PERMISSION_DENIED; the fleet token registers anything', async () => {
    const target = await registry({ token: FLEET_TOKEN, serviceTokens: { user: USER_TOKEN, order: ORDER_TOKEN } });
    const user = caller(target, USER_TOKEN);
    const refused = await failure(user.register({ serviceName: 'order', address: '127.0.0.1:41003', version: '1' }));
    expect([refused.code, refused.details]).toEqual([Status.PERMISSION_DENIED, 'the token of user may not register service order']);
    await user.register({ serviceName: 'user', address: '127.0.0.1:41004', version: '1' });
    await caller(target, ORDER_TOKEN).register({ serviceName: 'order', address: '127.0.0.1:41005', version: '1' });
    await caller(target, FLEET_TOKEN).register({ serviceName: 'gateway', address: '127.0.0.1:41006', version: '1' });
    expect((await user.listServices()).map((s) => s.serviceName)).toEqual(['gateway', 'order', 'user']);

    const unknown = await failure(caller(target, 'not-a-token-0123456789').register({ serviceName: 'user', address: '127.0.0.1:41007', version: '1' }));
    expect(unknown.code).toBe(Status.UNAUTHENTICATED);
    const none = await failure(caller(target).register({ serviceName: 'user', address: '127.0.0.1:41007', version: '1' }));
    expect([none.code, none.details]).toEqual([Status.UNAUTHENTICATED, expect.stringContaining('requires a token')]);
    expect((await user.resolve('user')).map((i) => i.address)).toEqual(['127.0.0.1:41004']);
  });

  it('with tokens configured, reads need one by default: Resolve, ListServices and Watch without one answer UNAUTHENTICATED', async () => {
    const target = await registry({ serviceTokens: { user: USER_TOKEN } });
    const app = caller(target, USER_TOKEN);
    await app.register({ serviceName: 'user', address: '127.0.0.1:41008', version: '1' });
    const stranger = caller(target);
    expect((await failure(stranger.resolve('user'))).code).toBe(Status.UNAUTHENTICATED);
    expect((await failure(stranger.listServices())).code).toBe(Status.UNAUTHENTICATED);
    const stream = stranger.client.watch({ serviceName: 'user' });
    const watchError = await new Promise<{ code: number }>((resolve) => stream.on('error', resolve));
    expect(watchError.code).toBe(Status.UNAUTHENTICATED);

    // Any valid token reads; the runtime's watcher sends its token.
    expect((await app.resolve('user')).map((i) => i.address)).toEqual(['127.0.0.1:41008']);
    const watcher = new RegistryWatcher({ registryAddresses: [target.address], serviceName: 'user', token: USER_TOKEN, logger });
    cleanups.push(() => watcher.close());
    await eventually(() => watcher.instances()?.length === 1, 10_000, 'the watcher to see the instance');
  });

  it('REGISTRY_READ_ACCESS=open keeps reads open beside tokens', async () => {
    const target = await registry({ serviceTokens: { user: USER_TOKEN }, readAccess: 'open' });
    await caller(target, USER_TOKEN).register({ serviceName: 'user', address: '127.0.0.1:41009', version: '1' });
    expect(await caller(target).resolve('user')).toHaveLength(1);
  });

  it('caps one service at REGISTRY_MAX_INSTANCES_PER_SERVICE, and its largest snapshot still reaches a newly started client', async () => {
    const limits = DEFAULT_REGISTRY_LIMITS;
    const target = await registry();
    const attacker = caller(target);
    const good = await victim(target);
    // Every field as large as the limits allow.
    const metadata = Object.fromEntries(
      Array.from({ length: limits.maxMetadataEntries }, (_, n) => [`${String(n).padStart(2, '0')}${'k'.repeat(limits.maxMetadataKeyLength - 2)}`, 'v'.repeat(limits.maxMetadataValueLength)]),
    );
    // host ends in -000001 and so on; with ":50052" the address is as long as allowed.
    const host = (n: number) => `${'h'.repeat(limits.maxAddressLength - ':50052'.length - '-000000'.length)}-${String(n).padStart(6, '0')}`;
    const huge = (n: number) => ({
      serviceName: 'user',
      address: `${host(n)}:50052`,
      version: 'v'.repeat(limits.maxVersionLength),
      zone: 'z'.repeat(limits.maxZoneLength),
      metadata,
    });
    expect(huge(1).address.length).toBe(limits.maxAddressLength);
    for (let n = 1; n < limits.maxInstancesPerService; n += 1) await attacker.register(huge(n));
    const refused = await failure(attacker.register(huge(limits.maxInstancesPerService)));
    expect([refused.code, refused.details]).toEqual([
      Status.RESOURCE_EXHAUSTED,
      `service user has its limit of ${limits.maxInstancesPerService} instances (REGISTRY_MAX_INSTANCES_PER_SERVICE)`,
    ]);

    // A client started now, with grpc-js's default 4 MiB receive limit, gets the whole snapshot.
    const resolved = await caller(target).resolve('user');
    expect(resolved).toHaveLength(limits.maxInstancesPerService);
    const bytes = registryV1.ResolveResponse.encode({ instances: resolved }).finish().length;
    expect(bytes).toBeLessThanOrEqual(largestSnapshotBytes(limits));
    expect(bytes).toBeGreaterThan(2 * 1024 * 1024); // the test does fill the snapshot
    const watcher = new RegistryWatcher({ registryAddresses: [target.address], serviceName: 'user', logger });
    cleanups.push(() => watcher.close());
    await eventually(() => watcher.instances()?.length === limits.maxInstancesPerService, 10_000, 'the full snapshot');
    // The instance that was there first keeps its lease.
    expect(resolved.some((i) => i.instanceId === good.instanceId())).toBe(true);
  });

  it('refuses over-long fields with INVALID_ARGUMENT naming the field and the variable that sets the limit', async () => {
    const target = await registry();
    const attacker = caller(target);
    const refused = await failure(
      attacker.register({
        serviceName: 'user',
        address: `${'a'.repeat(300)}:1`,
        version: 'v'.repeat(65),
        zone: 'z'.repeat(64),
        metadata: Object.fromEntries(Array.from({ length: 33 }, (_, n) => [`k${n}`, 'v'])),
      }),
    );
    expect(refused.code).toBe(Status.INVALID_ARGUMENT);
    expect(refused.details).toBe(
      'address: must be at most 255 characters (REGISTRY_MAX_ADDRESS_LENGTH); version: must be at most 64 characters (REGISTRY_MAX_VERSION_LENGTH); metadata: must have at most 32 entries (REGISTRY_MAX_METADATA_ENTRIES); zone: must be at most 63 characters (REGISTRY_MAX_ZONE_LENGTH)',
    );
  });
});
