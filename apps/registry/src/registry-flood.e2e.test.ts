// Floods against the BUILT registry (dist/apps/registry/main.js) as a child process, whose
// resident memory the tests read from /proc: 40,000 Registers from one client, and 1,000 Watch
// streams that never read while registrations churn. A well-behaved client beside the attacker
// must keep working, and the registry's memory must stay bounded.
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { status as Status } from '@grpc/grpc-js';
import { registryV1 } from '@switchyard/proto';
import { RegistryWatcher } from '@switchyard/runtime';
import { eventually } from '@switchyard/testing';
import pino from 'pino';
import { failure, registryCaller, type RegistryCaller } from './registry-calls.test-support';
import { DEFAULT_REGISTRY_LIMITS } from './registry-limits';
import { startRegistryProcess, type RegistryProcess } from './registry-process.test-support';

jest.setTimeout(300_000);
const ORDER_FLOOD = 10_000;
// Twice REGISTRY_MAX_INSTANCES: the cap, then as many refusals.
const FLEET_FLOOD = 20_000;

const MiB = 1024 * 1024;
const FLEET_TOKEN = 'fleet-token-0123456789abcdef';
const USER_TOKEN = 'user-token-0123456789abcdef';
const ORDER_TOKEN = 'order-token-0123456789abcdef';
const limits = DEFAULT_REGISTRY_LIMITS;

/** Metadata as large as the default limits allow: every accepted instance costs the most memory it can. */
const LARGEST_METADATA = Object.fromEntries(
  Array.from({ length: limits.maxMetadataEntries }, (_, n) => [`${String(n).padStart(2, '0')}${'k'.repeat(limits.maxMetadataKeyLength - 2)}`, 'v'.repeat(limits.maxMetadataValueLength)]),
);
const largest = (serviceName: string, n: number) => ({
  serviceName,
  // 10.x.y.z:port, a distinct address per n.
  address: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}:${1000 + (n % 50_000)}`,
  version: 'v'.repeat(limits.maxVersionLength),
  zone: 'z'.repeat(limits.maxZoneLength),
  metadata: LARGEST_METADATA,
});

/** The largest fields for the first `largestFirst` calls (enough to fill every cap), then small ones: refused calls cost the registry nothing to keep, and the machine time to send. */
const filler = (serviceName: (n: number) => string, largestFirst: number) => (n: number) =>
  n < largestFirst ? largest(serviceName(n), n) : { serviceName: serviceName(n), address: largest('', n).address, version: '1' };

/** Runs `count` calls of `send(n)`, `inFlight` at a time; returns how many ended with each status code. */
async function flood(count: number, inFlight: number, send: (n: number) => Promise<unknown>, every?: { calls: number; run: (done: number) => Promise<void> }) {
  const codes = new Map<number, number>();
  const messages = new Set<string>();
  let next = 0;
  let done = 0;
  let nextCheck = every?.calls ?? Infinity;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      try {
        await send(n);
        codes.set(Status.OK, (codes.get(Status.OK) ?? 0) + 1);
      } catch (error) {
        const { code, details } = error as { code: number; details: string };
        codes.set(code, (codes.get(code) ?? 0) + 1);
        messages.add(details);
      }
      done += 1;
      if (every && done >= nextCheck) {
        nextCheck += every.calls;
        await every.run(done);
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { codes: Object.fromEntries(codes), messages: [...messages] };
}

describe('the registry under floods (built app, child process)', () => {
  let registry: RegistryProcess | undefined;
  const closers: (() => void)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) close();
    await registry?.stop();
    registry = undefined;
  });
  const caller = (token: string): RegistryCaller => {
    const made = registryCaller(registry!.address, token);
    closers.push(() => made.close());
    return made;
  };

  // 20,000 are enough to go far past the per-service cap; the fleet-token flood below sends 40,000.
  it('10,000 Registers from a client holding the order token stop at the per-service cap; user keeps registering and resolving', async () => {
    registry = await startRegistryProcess({ REGISTRY_TOKENS: `user=${USER_TOKEN},order=${ORDER_TOKEN}`, LEASE_TTL_MS: '600000' }, USER_TOKEN);
    const attacker = caller(ORDER_TOKEN);
    const good = caller(USER_TOKEN);
    const baseline = registry.rssBytes();
    let goodRegistered = 0;
    const samples: number[] = [];
    const register = filler(() => 'order', 1000);
    const result = await flood(ORDER_FLOOD, 64, (n) => attacker.register(register(n)), {
      calls: ORDER_FLOOD / 10,
      run: async () => {
        samples.push(registry!.rssBytes());
        await good.register({ serviceName: 'user', address: `127.0.0.1:${20_000 + goodRegistered}`, version: '1' });
        goodRegistered += 1;
        expect(await good.resolve('user')).toHaveLength(goodRegistered);
      },
    });
    const peak = Math.max(...samples, registry.rssBytes());
    process.stdout.write(
      `${ORDER_FLOOD.toLocaleString('en')} Registers (order token): ${JSON.stringify(result.codes)}; registry RSS ${(baseline / MiB).toFixed(0)} MiB at start, peak ${(peak / MiB).toFixed(0)} MiB; samples ${samples.map((s) => (s / MiB).toFixed(0)).join(' ')}\n`,
    );
    expect(result.codes).toEqual({ [Status.OK]: limits.maxInstancesPerService, [Status.RESOURCE_EXHAUSTED]: ORDER_FLOOD - limits.maxInstancesPerService });
    expect(result.messages).toEqual([`service order has its limit of ${limits.maxInstancesPerService} instances (REGISTRY_MAX_INSTANCES_PER_SERVICE)`]);
    // The order token registers order only.
    expect((await failure(attacker.register({ serviceName: 'user', address: '127.0.0.1:1', version: '1' }))).code).toBe(Status.PERMISSION_DENIED);
    expect(goodRegistered).toBe(10);
    // 256 instances of at most ~11 KB each, and transient garbage: far below what 10,000 would hold.
    expect(peak - baseline).toBeLessThan(200 * MiB);
  });

  it('20,000 Registers with the fleet token stop at REGISTRY_MAX_INSTANCES (default 10,000), and memory stays bounded at the largest fields', async () => {
    registry = await startRegistryProcess({ REGISTRY_TOKEN: FLEET_TOKEN, LEASE_TTL_MS: '600000' }, FLEET_TOKEN);
    const attacker = caller(FLEET_TOKEN);
    const good = caller(FLEET_TOKEN);
    const mine = await good.register({ serviceName: 'user', address: '127.0.0.1:30000', version: '1' });
    const baseline = registry.rssBytes();
    const samples: number[] = [];
    let leaseSecret = mine.leaseSecret;
    let instanceId = mine.instance!.instanceId;
    const register = filler((n) => `svc-${n % 100}`, 12_000);
    const result = await flood(FLEET_FLOOD, 64, (n) => attacker.register(register(n)), {
      calls: 5_000,
      run: async () => {
        samples.push(registry!.rssBytes());
        // The instance registered before the flood keeps its lease, and takes its address back.
        await good.heartbeat({ instanceId, leaseSecret });
        const again = await good.register({ serviceName: 'user', address: '127.0.0.1:30000', version: '1', leaseSecret });
        ({ leaseSecret } = again);
        instanceId = again.instance!.instanceId;
        expect((await good.resolve('user')).map((i) => i.instanceId)).toEqual([instanceId]);
      },
    });
    const peak = Math.max(...samples, registry.rssBytes());
    process.stdout.write(
      `${FLEET_FLOOD.toLocaleString('en-US')} Registers (fleet token, largest fields): ${JSON.stringify(result.codes)}; registry RSS ${(baseline / MiB).toFixed(0)} MiB at start, peak ${(peak / MiB).toFixed(0)} MiB; samples ${samples.map((s) => (s / MiB).toFixed(0)).join(' ')}\n`,
    );
    expect(result.codes).toEqual({ [Status.OK]: limits.maxInstances - 1, [Status.RESOURCE_EXHAUSTED]: FLEET_FLOOD - (limits.maxInstances - 1) });
    expect(result.messages).toEqual([`the registry holds its limit of ${limits.maxInstances} instances (REGISTRY_MAX_INSTANCES)`]);
    // After the cap, refusals keep nothing: what the samples add after it is garbage the heap has
    // not collected yet (measured: 47 to 210 MiB, with when V8 collects), far below what keeping
    // the refused requests would hold (the first 2,000 refused carry ~11 KB each); and the whole
    // stays within what 10,000 of the largest instances need.
    const atCap = samples[1];
    expect(samples.at(-1)! - atCap).toBeLessThan(320 * MiB);
    expect(peak - baseline).toBeLessThan(768 * MiB);
  });

  it('1,000 Watch streams that never read, while registrations churn: capped per peer, the stalled ones dropped, memory bounded, a normal watcher keeps up', async () => {
    const stallMs = 2000;
    registry = await startRegistryProcess({ REGISTRY_TOKEN: FLEET_TOKEN, REGISTRY_WATCH_STALL_MS: String(stallMs) }, FLEET_TOKEN);
    const registrant = caller(FLEET_TOKEN);
    const port = Number(registry.address.split(':')[1]);

    // The well-behaved watcher, from 127.0.0.1.
    const watcher = new RegistryWatcher({ registryAddresses: [registry.address], serviceName: 'user', token: FLEET_TOKEN, logger: pino({ level: 'silent' }) });
    closers.push(() => watcher.close());
    await eventually(() => watcher.instances() !== undefined, 10_000, 'the normal watcher\'s snapshot');

    // The attacker, from another loopback address: one HTTP/2 connection, 1,000 Watch streams,
    // none of them read (paused: no flow-control window is given back).
    const session = connect(`http://127.0.0.1:${port}`, { localAddress: '127.0.0.2' } as never) as ClientHttp2Session;
    closers.push(() => session.destroy());
    session.on('error', () => undefined);
    const request = registryV1.WatchRequest.encode({ serviceName: 'user' }).finish();
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), request]);
    frame.writeUInt32BE(request.length, 1);
    const refusals: string[] = [];
    const admitted: ClientHttp2Stream[] = [];
    for (let n = 0; n < 1000; n += 1) {
      const stream = session.request({
        [constants.HTTP2_HEADER_METHOD]: 'POST',
        [constants.HTTP2_HEADER_PATH]: '/switchyard.registry.v1.RegistryService/Watch',
        [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
        te: 'trailers',
        authorization: `Bearer ${FLEET_TOKEN}`,
      });
      stream.on('error', () => undefined);
      stream.on('response', (headers) => {
        if (headers['grpc-status'] !== undefined) refusals.push(`${headers['grpc-status']} ${decodeURIComponent(String(headers['grpc-message']))}`);
        else admitted.push(stream);
      });
      stream.end(frame);
      stream.pause();
    }
    const cap = 64;
    await eventually(() => refusals.length + admitted.length === 1000, 30_000, 'an answer to every stream');
    expect(admitted).toHaveLength(cap);
    expect(new Set(refusals)).toEqual(new Set([`${Status.RESOURCE_EXHAUSTED} 127.0.0.2 has its limit of ${cap} open Watch streams (REGISTRY_MAX_WATCHES_PER_PEER)`]));

    // Churn: instances of user with the largest fields come and go, each change a message of
    // ~11 KB to every watcher.
    const baseline = registry.rssBytes();
    const samples: number[] = [];
    for (let round = 0; round < 400; round += 1) {
      const { instance, leaseSecret } = await registrant.register(largest('user', round));
      if (round % 2 === 0) await registrant.deregister({ instanceId: instance!.instanceId, leaseSecret });
      if (round % 50 === 0) samples.push(registry.rssBytes());
    }
    samples.push(registry.rssBytes());
    const peak = Math.max(...samples);
    process.stdout.write(
      `1,000 unread Watch streams (${cap} admitted) under 400 changes of ~11 KB: registry RSS ${(baseline / MiB).toFixed(0)} MiB before the churn, peak ${(peak / MiB).toFixed(0)} MiB; samples ${samples.map((s) => (s / MiB).toFixed(0)).join(' ')}\n`,
    );
    // Unbounded, 64 streams x 400 changes x 11 KB would be ~280 MB of queued messages.
    expect(peak - baseline).toBeLessThan(96 * MiB);

    // The normal watcher saw every change: its list is the registry's.
    const expected = (await registrant.resolve('user')).map((i) => i.instanceId).sort();
    expect(expected).toHaveLength(200);
    await eventually(() => watcher.instances()?.map((i) => i.instanceId).sort().join() === expected.join(), 10_000, 'the normal watcher to catch up');

    // The stalled streams were dropped: each ends with RESOURCE_EXHAUSTED once read, and their
    // slots are free again, so this host may watch again. (A wait, not a bound: a stream read
    // before the registry gave it up would simply go on.)
    await new Promise((resolve) => setTimeout(resolve, 2 * stallMs));
    const statuses = await Promise.all(
      admitted.map(
        (stream) =>
          new Promise<string>((resolve) => {
            stream.on('trailers', (trailers) => resolve(`${trailers['grpc-status']} ${decodeURIComponent(String(trailers['grpc-message']))}`));
            stream.on('close', () => resolve('closed without trailers'));
            stream.on('data', () => undefined);
            stream.resume();
          }),
      ),
    );
    expect(statuses).toHaveLength(cap);
    expect(new Set(statuses)).toEqual(new Set([`${Status.RESOURCE_EXHAUSTED} this Watch stream did not read for ${stallMs} ms and was dropped (REGISTRY_WATCH_STALL_MS); watch again`]));
    const again = session.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: '/switchyard.registry.v1.RegistryService/Watch',
      [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
      te: 'trailers',
      authorization: `Bearer ${FLEET_TOKEN}`,
    });
    again.on('error', () => undefined);
    again.end(frame);
    const headers = await new Promise<Record<string, unknown>>((resolve) => again.once('response', resolve));
    expect([headers[':status'], headers['grpc-status']]).toEqual([200, undefined]);
    again.close();
  });
});
