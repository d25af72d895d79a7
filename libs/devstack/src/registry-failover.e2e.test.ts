// Two registries and the BUILT user, order and gateway given both, as compose would write it:
// REGISTRY_ADDRESS=registry:<a>,registry:<b>. Under steady calls through the gateway, registry A is
// SIGKILLed: no call may fail, and every app must end up at registry B. The same run over two
// setups of the registries' store:
// - each with its own in-memory store (two hosts that share nothing): the apps register again at B;
// - both on one real 3-member etcd cluster (stateless replicas): both answer the same, and the apps
//   carry their leases over to B unchanged; one etcd member is SIGKILLed during the failover too.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectReflection, describeWithEtcd, eventually, freePort, startEtcdCluster, type ReflectionConnection } from '@switchyard/testing';
import type { App } from './compose-environment';
import { LocalStack } from './local-stack';
import { watchRegistrySightings, type RegistrySightings, type SeenInstance } from './registry-sightings';
import { startSteadyGatewayCalls, type SteadyCalls } from './steady-gateway-calls';

const workspaceRoot = resolve(__dirname, '../../..');
// Calls flow this long before the kill, and again this long after every app has moved.
const CALLS_AROUND_MS = 2000;
// The apps' heartbeat interval (the registry's default): replicas on one store must agree within it.
const HEARTBEAT_INTERVAL_MS = 2000;
jest.setTimeout(90_000);

const CLIENT_APPS: App[] = ['user', 'order', 'gateway'];

/** Where the two registries keep their leases. */
interface RegistryStores {
  /** Whether both registries serve one set of leases. */
  shared: boolean;
  /** Environment of each registry (B's is added to A's). */
  registryA: Record<string, string>;
  registryB: Record<string, string>;
  /** More trouble right after registry A is killed. */
  duringFailover?: () => Promise<void>;
  /** What the store's own processes wrote, for failure messages. */
  output?: () => string;
  stop(): Promise<void>;
}

async function separateMemoryStores(dataDir: string): Promise<RegistryStores> {
  // B has its own data directory: nothing of registry A's is shared, as with two hosts.
  return { shared: false, registryA: {}, registryB: { DATA_DIR: join(dataDir, 'registry-b') }, stop: async () => undefined };
}

async function oneEtcdCluster(etcd: string, dataDir: string): Promise<RegistryStores> {
  const cluster = await startEtcdCluster(etcd);
  const env = { REGISTRY_STORE: 'etcd', ETCD_ENDPOINTS: cluster.endpoints.join(','), ETCD_PREFIX: `/switchyard-failover/${randomUUID()}/` };
  return {
    shared: true,
    registryA: env,
    registryB: { ...env, DATA_DIR: join(dataDir, 'registry-b') },
    // A member of three: etcd keeps its quorum, and the registries' etcd clients move to another member.
    duringFailover: () => cluster.kill(0),
    output: () => cluster.output(),
    stop: () => cluster.stop(),
  };
}

function registryFailoverSuite(openStores: (dataDir: string) => Promise<RegistryStores>): void {
  let stack: LocalStack;
  let stores: RegistryStores | undefined;
  let dataDir: string;
  let secondPort: number;
  let sightings: RegistrySightings | undefined;
  let calls: SteadyCalls | undefined;
  const connections: ReflectionConnection[] = [];

  const registryA = () => `127.0.0.1:${stack.ports.registry}`;
  const registryB = () => `127.0.0.1:${secondPort}`;
  const addressesAt = (registry: string) =>
    Object.fromEntries(CLIENT_APPS.map((app) => [app, (sightings!.latest(registry)[app] ?? []).map((i) => i.address)]));
  const expectedAddresses = () => Object.fromEntries(CLIENT_APPS.map((app) => [app, [stack.advertisedAddress(app)]]));
  const appProcess = (app: App) => stack.processes.find((p) => p.options.app === app)!;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'switchyard-failover-'));
    stores = await openStores(dataDir);
    stack = await LocalStack.prepare({ workspaceRoot, dataDir });
    secondPort = await freePort();
    // At debug it logs each heartbeat, which times the kill (see below).
    await stack.startApp('registry', { ...stores.registryA, LOG_LEVEL: 'debug' });
    await stack.startApp('registry', { ...stores.registryB, GRPC_PORT: String(secondPort) });
    // Watched from before the apps start, so the first sighting at each registry is timed.
    sightings = watchRegistrySightings({ registries: [registryA(), registryB()], services: CLIENT_APPS, token: stack.registryToken });
    const registries = { REGISTRY_ADDRESS: `registry:${stack.ports.registry},registry:${secondPort}` };
    await Promise.all([stack.startApp('user', registries), stack.startApp('order', registries)]);
    await stack.startApp('gateway', registries);
  });

  afterAll(async () => {
    await calls?.stop();
    await sightings?.stop();
    connections.forEach((connection) => connection.close());
    await stack?.stop();
    await stores?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('SIGKILL registry A while calls flow through the gateway: 0 failed calls, and user, order and gateway at registry B', async () => {
    const { shared } = stores!;
    await eventually(() => JSON.stringify(addressesAt(registryA())) === JSON.stringify(expectedAddresses()), 15_000, 'every app registered at registry A');
    const instancesAtA: Record<string, SeenInstance[]> = sightings!.latest(registryA());
    if (shared) {
      // Replicas on one store answer alike, and soon: B lists each instance within a heartbeat of A.
      await eventually(() => JSON.stringify(sightings!.latest(registryB())) === JSON.stringify(instancesAtA), HEARTBEAT_INTERVAL_MS * 2, 'registry B to answer as A does');
      const gaps = CLIENT_APPS.map((app) => {
        const id = instancesAtA[app][0].instanceId;
        return Math.abs(sightings!.firstSeen(registryB(), id)! - sightings!.firstSeen(registryA(), id)!);
      });
      process.stdout.write(`registry replicas on etcd | first seen at B vs A, ms: ${CLIENT_APPS.map((app, i) => `${app} ${gaps[i]}`).join(', ')}\n`);
      for (const gap of gaps) expect(gap).toBeLessThanOrEqual(HEARTBEAT_INTERVAL_MS);
    } else {
      expect(addressesAt(registryB())).toEqual(Object.fromEntries(CLIENT_APPS.map((app) => [app, []])));
    }

    const users = connectReflection(stack.address('user'));
    connections.push(users);
    const userIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { user } = (await users.invoke('switchyard.user.v1.UserService/CreateUser', { name: `Failover ${i}`, email: `failover-${i}-${Date.now()}@example.com` })).json as {
        user: { id: string };
      };
      userIds.push(user.id);
    }

    // The path under test works before the load: gateway -> user and order through the registry.
    const gatewayClient = connectReflection(stack.address('gateway'));
    connections.push(gatewayClient);
    await gatewayClient.invoke('switchyard.gateway.v1.GatewayService/GetUserWithOrders', { userId: userIds[0] });

    calls = startSteadyGatewayCalls({ target: stack.address('gateway'), userIds });
    await new Promise((resolve) => setTimeout(resolve, CALLS_AROUND_MS));
    const registryAProcess = stack.processes.find((p) => p.options.app === 'registry' && p.options.env.GRPC_PORT === String(stack.ports.registry))!;
    // Right after a round of heartbeats, so the apps' registrations notice the loss only at their
    // next beat, seconds after the gateway's watches: those reach registry B while (with a store
    // of its own) it knows no instance yet, the hardest moment for the calls.
    const mark = registryAProcess.lines.length;
    await eventually(() => registryAProcess.lines.slice(mark).filter((line) => line.includes('RegistryService/Heartbeat"')).length >= CLIENT_APPS.length, 10_000, 'a round of heartbeats');
    const answeredBeforeKill = calls.answered();
    const linesBeforeKill = new Map(CLIENT_APPS.map((app) => [app, appProcess(app).lines.length]));
    const killed = await registryAProcess.stop('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    await stores!.duringFailover?.();

    // Every app's registration reaches registry B: registered anew, or its lease renewed there.
    const at = `"registry_address":"registry:${secondPort}"`;
    const linesSinceKill = (app: App) => appProcess(app).lines.slice(linesBeforeKill.get(app));
    const reachedB = (app: App) =>
      linesSinceKill(app).some((line) => line.includes(at) && (line.includes('"registered with the registry"') || line.includes('"registry reachable again; lease renewed"')));
    await eventually(() => CLIENT_APPS.every(reachedB), 20_000, 'every app at registry B').catch((error: Error) => {
      const logs = CLIENT_APPS.map((app) => `--- ${app}\n${linesSinceKill(app).slice(-15).join('\n')}`).join('\n');
      throw new Error(`${error.message}\n${logs}\n${stores!.output?.() ?? ''}`);
    });
    await eventually(() => JSON.stringify(addressesAt(registryB())) === JSON.stringify(expectedAddresses()), 20_000, 'every app listed at registry B');
    // The gateway's watches of user and order follow it there.
    const gateway = appProcess('gateway');
    const watchResumedAtB = (service: string) =>
      gateway.lines.some((line) => line.includes('"registry watch resumed"') && line.includes(`"service_name":"${service}"`) && line.includes(`"registry_address":"registry:${secondPort}"`));
    await eventually(() => watchResumedAtB('user') && watchResumedAtB('order'), 20_000, "the gateway's watches on registry B");
    const answeredAtMove = calls.answered();
    await new Promise((resolve) => setTimeout(resolve, CALLS_AROUND_MS));
    const result = await calls.stop();
    process.stdout.write(
      `registry failover (${shared ? 'one etcd cluster, one member killed too' : 'separate in-memory stores'}) | calls ${result.calls} (${answeredAtMove - answeredBeforeKill} between the kill and the move) | failed ${JSON.stringify(result.failures)} | partial ${JSON.stringify(result.partialReasons)}\n`,
    );

    expect(result.failures).toEqual({});
    expect(result.partialReasons).toEqual({});
    // Calls went on through the whole failover, not around it.
    expect(answeredBeforeKill).toBeGreaterThan(0);
    expect(answeredAtMove).toBeGreaterThan(answeredBeforeKill);
    expect(result.calls).toBeGreaterThan(answeredAtMove);
    for (const app of CLIENT_APPS) {
      const since = linesSinceKill(app);
      expect(since.filter((line) => line.includes('moving to')).length).toBeGreaterThan(0);
      const registeredAgain = since.filter((line) => line.includes('"registered with the registry"'));
      if (shared) {
        // The lease lives in etcd, not in registry A: B renews it, and nothing registers again.
        expect(registeredAgain).toEqual([]);
        expect(since.filter((line) => line.includes('does not know this instance'))).toEqual([]);
      } else {
        expect(registeredAgain.length).toBeGreaterThan(0);
      }
    }
    const idsAt = (instances: Record<string, SeenInstance[]>) => Object.fromEntries(CLIENT_APPS.map((app) => [app, instances[app].map((i) => i.instanceId)]));
    if (shared) expect(idsAt(sightings!.latest(registryB()))).toEqual(idsAt(instancesAtA));
    else for (const app of CLIENT_APPS) expect(sightings!.latest(registryB())[app][0].instanceId).not.toBe(instancesAtA[app][0].instanceId);
  });
}

describe('several registries, each with its own in-memory store: one dies while calls flow', () => {
  registryFailoverSuite(separateMemoryStores);
});

describeWithEtcd('several registries on one etcd cluster: one dies while calls flow', (etcd) => {
  registryFailoverSuite((dataDir) => oneEtcdCluster(etcd, dataDir));
});
