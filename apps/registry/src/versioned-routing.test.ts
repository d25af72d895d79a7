import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { credentials, Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { userV1 } from '@switchyard/proto';
import {
  defineService,
  registerRegistryResolver,
  startRegistration,
  statusError,
  watchRoutingRulesFile,
  type Registration,
  type RegistryResolverRegistration,
  type RoutingRules,
  type RoutingRulesSource,
} from '@switchyard/runtime';
import { eventually, startTestServer, type TestServer } from '@switchyard/testing';
import pino from 'pino';
import { startRegistry, type TestRegistry } from './registry-server.test-support';

const logger = pino({ level: 'silent' });
const V1 = '0.1.0';
const V2 = '0.2.0';

/** A UserService (test stub) whose GetUser answers with the version of the instance that served it. */
async function startVersionedServer(version: string): Promise<TestServer> {
  const unused = async () => {
    throw new Error('not used');
  };
  return startTestServer([
    defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
      async getUser(request) {
        return { user: { id: request.id, name: version, email: 'stub@example.com', createTime: new Date(0), orderCount: 0, totalSpentCents: 0 } };
      },
      createUser: unused,
      batchGetUsers: unused,
      listUsers: unused,
    }),
  ]);
}

/** A UserService whose every GetUser fails INTERNAL: a broken canary. */
async function startSickServer(): Promise<TestServer> {
  const unused = async () => {
    throw new Error('not used');
  };
  return startTestServer([
    defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
      async getUser() {
        throw statusError(Status.INTERNAL, 'this canary is broken');
      },
      createUser: unused,
      batchGetUsers: unused,
      listUsers: unused,
    }),
  ]);
}

/** Rules a test changes as it goes, as a reloaded file would. */
function mutableRules(initial: RoutingRules): RoutingRulesSource & { set(rules: RoutingRules): void } {
  let rules = initial;
  const listeners = new Set<() => void>();
  return {
    current: () => rules,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () => listeners.clear(),
    set(next) {
      rules = next;
      for (const listener of listeners) listener();
    },
  };
}

function getVersion(client: userV1.UserServiceClient, headers: Record<string, string> = {}): Promise<string> {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
  return new Promise((resolve, reject) =>
    client.getUser({ id: 'u1' }, metadata, { deadline: Date.now() + 10_000 }, (error: ServiceError | null, response: userV1.GetUserResponse) =>
      error ? reject(error) : resolve(response.user!.name),
    ),
  );
}

/** `calls` calls, 20 at a time; the versions that served them. */
async function versionsOf(client: userV1.UserServiceClient, calls: number, headers: (i: number) => Record<string, string> = () => ({})): Promise<string[]> {
  const versions: string[] = [];
  for (let i = 0; i < calls; i += 20) {
    const batch = Array.from({ length: Math.min(20, calls - i) }, (_, j) => getVersion(client, headers(i + j)));
    versions.push(...(await Promise.all(batch)));
  }
  return versions;
}

const share = (versions: string[], version: string) => versions.filter((v) => v === version).length / versions.length;

describe('versioned routing over registry:///', () => {
  let registry: TestRegistry;
  let resolver: RegistryResolverRegistration;
  const rules = mutableRules({});
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    registry = await startRegistry({ sweepIntervalMs: 50 });
    resolver = registerRegistryResolver({ registryAddresses: [registry.address], logger, routingRules: rules });
  });
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    resolver.close();
    registry.stop();
  });

  /** Two v1 instances and one v2 instance of `service`, registered; a client of it once all three serve. */
  async function fleet(service: string): Promise<{ client: userV1.UserServiceClient; v2: { server: TestServer; registration: Registration } }> {
    const servers = await Promise.all([startVersionedServer(V1), startVersionedServer(V1), startVersionedServer(V2)]);
    const registrations = servers.map((server, i) =>
      startRegistration({ registryAddresses: [registry.address], serviceName: service, address: server.address, version: i < 2 ? V1 : V2, logger }),
    );
    cleanups.push(...servers.map((server) => () => server.stop()), ...registrations.map((registration) => () => registration.stop()));
    await Promise.all(registrations.map((registration) => registration.registered));
    const client = new userV1.UserServiceClient(`registry:///${service}`, credentials.createInsecure());
    cleanups.push(() => client.close());
    // Both versions connected (a version not connected yet gets no calls; its share goes to the others).
    await eventually(async () => new Set(await versionsOf(client, 40, () => ({ 'x-canary': V2 }))).has(V2) && new Set(await versionsOf(client, 40)).has(V1), 10_000, 'both versions in use');
    return { client, v2: { server: servers[2]!, registration: registrations[2]! } };
  }

  it('sends 10% ± 3% of 1,000 calls to the version weighted 10, though it has a third of the instances', async () => {
    rules.set({ weighted: { header: 'x-canary', weights: { [V2]: 10 }, sticky: false } });
    const { client } = await fleet('weighted');
    const versions = await versionsOf(client, 1000);
    expect(share(versions, V2)).toBeGreaterThanOrEqual(0.07);
    expect(share(versions, V2)).toBeLessThanOrEqual(0.13);
    expect(share(versions, V1) + share(versions, V2)).toBe(1);
  });

  it('sends every call with the header to the pinned version, whatever the weights', async () => {
    rules.set({ pinned: { header: 'x-canary', weights: { [V2]: 10 }, sticky: false } });
    const { client } = await fleet('pinned');
    expect(new Set(await versionsOf(client, 200, () => ({ 'x-canary': V2 })))).toEqual(new Set([V2]));
    expect(new Set(await versionsOf(client, 200, () => ({ 'x-canary': V1 })))).toEqual(new Set([V1]));
    // A configurable header name: the old one no longer pins (and v2, weighted 0, gets nothing else).
    rules.set({ pinned: { header: 'x-track', weights: { [V2]: 0 }, sticky: false } });
    await eventually(async () => (await versionsOf(client, 40, () => ({ 'x-canary': V2 }))).every((v) => v === V1), 10_000, 'x-canary ignored');
    expect(new Set(await versionsOf(client, 200, () => ({ 'x-track': V2 })))).toEqual(new Set([V2]));
    // No rule any more: round robin over every instance, headers or not.
    rules.set({});
    await eventually(async () => share(await versionsOf(client, 300, () => ({ 'x-track': V2 })), V2) < 0.5, 10_000, 'round robin again');
    const versions = await versionsOf(client, 300);
    expect(share(versions, V2)).toBeCloseTo(1 / 3, 1);
  });

  it('sends the weight of a metadata selector (track=canary) to the instances registered with it', async () => {
    rules.set({ tracked: { header: 'x-canary', weights: { 'track=canary': 100 }, sticky: false } });
    const servers = await Promise.all([startVersionedServer(V1), startVersionedServer('tracked')]);
    const registrations = servers.map((server, i) =>
      startRegistration({ registryAddresses: [registry.address], serviceName: 'tracked', address: server.address, version: V1, metadata: i === 1 ? { track: 'canary' } : {}, logger }),
    );
    cleanups.push(...servers.map((server) => () => server.stop()), ...registrations.map((registration) => () => registration.stop()));
    await Promise.all(registrations.map((registration) => registration.registered));
    const client = new userV1.UserServiceClient('registry:///tracked', credentials.createInsecure());
    cleanups.push(() => client.close());
    await eventually(async () => (await versionsOf(client, 40)).every((v) => v === 'tracked'), 10_000, 'every call on the tracked instance');
    expect(new Set(await versionsOf(client, 200))).toEqual(new Set(['tracked']));
    expect(new Set(await versionsOf(client, 100, () => ({ 'x-canary': V1 })))).toEqual(new Set([V1, 'tracked']));
  });

  it('keeps each subject on one version when sticky, and splits subjects by the weight', async () => {
    rules.set({ sticky: { header: 'x-canary', weights: { [V2]: 30 }, sticky: true } });
    const { client } = await fleet('sticky');
    const subjects = Array.from({ length: 200 }, (_, i) => `user-${i}`);
    const versionBySubject = new Map<string, Set<string>>();
    for (const subject of subjects) versionBySubject.set(subject, new Set(await versionsOf(client, 10, () => ({ 'x-switchyard-subject': subject }))));
    for (const [subject, versions] of versionBySubject) expect([subject, versions.size]).toEqual([subject, 1]);
    const onV2 = [...versionBySubject.values()].filter((versions) => versions.has(V2)).length / subjects.length;
    expect(onV2).toBeGreaterThan(0.15);
    expect(onV2).toBeLessThan(0.45);
  });

  it('falls back to v1 with no failed call when every v2 instance leaves under load', async () => {
    rules.set({ leaving: { header: 'x-canary', weights: { [V2]: 50 }, sticky: false } });
    const { client, v2 } = await fleet('leaving');
    let running = true;
    const failures: unknown[] = [];
    const served: string[] = [];
    const servedPinned: string[] = [];
    const worker = async (pinned: boolean) => {
      while (running) {
        await getVersion(client, pinned ? { 'x-canary': V2 } : {}).then(
          (version) => (pinned ? servedPinned : served).push(version),
          (error: unknown) => failures.push(error),
        );
      }
    };
    const workers = [...Array.from({ length: 4 }, () => worker(false)), worker(true), worker(true)];
    await eventually(() => servedPinned.length >= 100, 10_000, 'load on v2');
    expect(new Set(servedPinned)).toEqual(new Set([V2]));
    // Deregistered, then gone: what a rolled-back canary does.
    await v2.registration.stop();
    await new Promise((resolve) => setTimeout(resolve, 500));
    await new Promise<void>((resolve) => v2.server.server.tryShutdown(() => resolve()));
    const afterStop = served.length;
    const pinnedAfterStop = servedPinned.length;
    await eventually(() => served.length >= afterStop + 500 && servedPinned.length >= pinnedAfterStop + 100, 20_000, 'more calls');
    running = false;
    await Promise.all(workers);
    expect(failures).toEqual([]);
    expect(new Set(served.slice(afterStop))).toEqual(new Set([V1]));
    // Calls pinned to the version that left went to the others too.
    expect(new Set(servedPinned.slice(pinnedAfterStop))).toEqual(new Set([V1]));
  });
});

describe('versioned routing with outlier ejection', () => {
  it('ejects a canary whose every instance fails, so its share and its pinned calls go to v1', async () => {
    const registry = await startRegistry({ sweepIntervalMs: 50 });
    const resolver = registerRegistryResolver({ registryAddresses: [registry.address], logger, routingRules: mutableRules({ 'sick-canary': { header: 'x-canary', weights: { [V2]: 50 }, sticky: false } }) });
    const servers = await Promise.all([startVersionedServer(V1), startVersionedServer(V1), startSickServer()]);
    const registrations = servers.map((server, i) =>
      startRegistration({ registryAddresses: [registry.address], serviceName: 'sick-canary', address: server.address, version: i < 2 ? V1 : V2, logger }),
    );
    const client = new userV1.UserServiceClient('registry:///sick-canary', credentials.createInsecure());
    try {
      await Promise.all(registrations.map((registration) => registration.registered));
      let failures = 0;
      let consecutive = 0;
      await eventually(
        async () => {
          const ok = await getVersion(client, { 'x-canary': V2 }).then(
            () => true,
            (error: ServiceError) => (expect(error.details).toBe('this canary is broken'), false),
          );
          if (!ok) failures += 1;
          consecutive = ok ? consecutive + 1 : 0;
          return consecutive >= 40;
        },
        20_000,
        'the broken canary ejected',
      );
      expect(failures).toBeGreaterThanOrEqual(5);
      expect(new Set(await versionsOf(client, 200))).toEqual(new Set([V1]));
    } finally {
      client.close();
      await Promise.all(registrations.map((registration) => registration.stop()));
      for (const server of servers) server.stop();
      resolver.close();
      registry.stop();
    }
  });

  it('still never ejects every instance of the service', async () => {
    const registry = await startRegistry({ sweepIntervalMs: 50 });
    const resolver = registerRegistryResolver({ registryAddresses: [registry.address], logger, routingRules: mutableRules({ 'all-sick': { header: 'x-canary', weights: { [V2]: 50 }, sticky: false } }) });
    const servers = await Promise.all([startSickServer(), startSickServer()]);
    const registrations = servers.map((server, i) =>
      startRegistration({ registryAddresses: [registry.address], serviceName: 'all-sick', address: server.address, version: i === 0 ? V1 : V2, logger }),
    );
    const client = new userV1.UserServiceClient('registry:///all-sick', credentials.createInsecure());
    try {
      await Promise.all(registrations.map((registration) => registration.registered));
      // Dozens of failures on each: one version is ejected at most, the other keeps answering.
      for (let i = 0; i < 60; i += 1) {
        const error = await getVersion(client).then(
          () => undefined,
          (failure: ServiceError) => failure,
        );
        expect(error?.details).toBe('this canary is broken');
      }
    } finally {
      client.close();
      await Promise.all(registrations.map((registration) => registration.stop()));
      for (const server of servers) server.stop();
      resolver.close();
      registry.stop();
    }
  });
});

describe('ROUTING_RULES_FILE', () => {
  it('changes the split without a restart, and keeps the rules in force when the file turns bad', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'routing-rules-'));
    const file = join(dir, 'rules.json');
    const logs: string[] = [];
    const captured = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _encoding, done) => (logs.push(chunk.toString()), done()) }));
    writeFileSync(file, JSON.stringify({ reloading: { weights: { [V2]: 0 } } }));
    const source = watchRoutingRulesFile(file, { logger: captured, pollIntervalMs: 50 });
    const registry = await startRegistry({ sweepIntervalMs: 50 });
    const resolver = registerRegistryResolver({ registryAddresses: [registry.address], logger, routingRules: source });
    const servers = await Promise.all([startVersionedServer(V1), startVersionedServer(V2)]);
    const registrations = servers.map((server, i) => startRegistration({ registryAddresses: [registry.address], serviceName: 'reloading', address: server.address, version: i === 0 ? V1 : V2, logger }));
    const client = new userV1.UserServiceClient('registry:///reloading', credentials.createInsecure());
    try {
      await Promise.all(registrations.map((registration) => registration.registered));
      await eventually(async () => (await versionsOf(client, 40, () => ({ 'x-canary': V2 }))).every((v) => v === V2), 10_000, 'v2 connected');
      expect(new Set(await versionsOf(client, 200))).toEqual(new Set([V1]));

      writeFileSync(file, JSON.stringify({ reloading: { weights: { [V2]: 100 } } }));
      await eventually(async () => (await versionsOf(client, 40)).every((v) => v === V2), 10_000, 'every call on v2');
      expect(logs.some((line) => line.includes('routing rules reloaded'))).toBe(true);

      writeFileSync(file, '{ "reloading": { "weights": { "0.2.0": 150 } } }');
      await eventually(() => logs.some((line) => line.includes('routing rules file rejected')), 10_000, 'the bad file logged');
      expect(logs.find((line) => line.includes('routing rules file rejected'))).toContain('more than 100 percent');
      expect(new Set(await versionsOf(client, 200))).toEqual(new Set([V2]));
    } finally {
      client.close();
      await Promise.all(registrations.map((registration) => registration.stop()));
      for (const server of servers) server.stop();
      resolver.close();
      source.close();
      registry.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
