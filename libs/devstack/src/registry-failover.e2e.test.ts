// Two registries (each with its own in-memory store) and the BUILT user, order and gateway given
// both, as compose would write it: REGISTRY_ADDRESS=registry:<a>,registry:<b>. Under steady calls
// through the gateway, registry A is SIGKILLed: no call may fail, and every app must end up
// registered at registry B.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectReflection, eventually, freePort, type ReflectionConnection } from '@switchyard/testing';
import type { App } from './compose-environment';
import { LocalStack } from './local-stack';
import { startSteadyGatewayCalls, type SteadyCalls } from './steady-gateway-calls';

const workspaceRoot = resolve(__dirname, '../../..');
// Calls flow this long before the kill, and again this long after every app has moved.
const CALLS_AROUND_MS = 2000;
jest.setTimeout(90_000);

const CLIENT_APPS: App[] = ['user', 'order', 'gateway'];

describe('several registries: one dies while calls flow', () => {
  let stack: LocalStack;
  let dataDir: string;
  let secondPort: number;
  let calls: SteadyCalls | undefined;
  const connections: ReflectionConnection[] = [];

  const servicesAt = async (port: number): Promise<Record<string, string[]>> => {
    const registry = connectReflection(`127.0.0.1:${port}`);
    connections.push(registry);
    const metadata = { authorization: `Bearer ${stack.registryToken}` };
    const found: Record<string, string[]> = {};
    for (const serviceName of CLIENT_APPS) {
      const response = (await registry.invoke('switchyard.registry.v1.RegistryService/Resolve', { serviceName }, { metadata })).json as {
        instances?: { address: string; state: string }[];
      };
      found[serviceName] = (response.instances ?? []).filter((i) => i.state === 'INSTANCE_STATE_SERVING').map((i) => i.address);
    }
    return found;
  };
  const expectedServices = () => Object.fromEntries(CLIENT_APPS.map((app) => [app, [stack.advertisedAddress(app)]]));

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'switchyard-failover-'));
    stack = await LocalStack.prepare({ workspaceRoot, dataDir });
    secondPort = await freePort();
    // At debug it logs each heartbeat, which times the kill (see below).
    await stack.startApp('registry', { LOG_LEVEL: 'debug' });
    // Its own data directory: nothing of registry A's is shared, as with two hosts.
    await stack.startApp('registry', { GRPC_PORT: String(secondPort), DATA_DIR: join(dataDir, 'registry-b') });
    const registries = { REGISTRY_ADDRESS: `registry:${stack.ports.registry},registry:${secondPort}` };
    await Promise.all([stack.startApp('user', registries), stack.startApp('order', registries)]);
    await stack.startApp('gateway', registries);
  });

  afterAll(async () => {
    await calls?.stop();
    connections.forEach((connection) => connection.close());
    await stack?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('SIGKILL registry A while calls flow through the gateway: 0 failed calls, and user, order and gateway registered at registry B', async () => {
    await eventually(async () => JSON.stringify(await servicesAt(stack.ports.registry)) === JSON.stringify(expectedServices()), 15_000, 'every app registered at registry A');
    expect(await servicesAt(secondPort)).toEqual(Object.fromEntries(CLIENT_APPS.map((app) => [app, []])));

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
    const registryA = stack.processes.find((p) => p.options.app === 'registry' && p.options.env.GRPC_PORT === String(stack.ports.registry))!;
    // Right after a round of heartbeats, so the apps' registrations notice the loss only at their
    // next beat, seconds after the gateway's watches: those reach registry B while it knows no
    // instance yet, the hardest moment for the calls.
    const mark = registryA.lines.length;
    await eventually(() => registryA.lines.slice(mark).filter((line) => line.includes('RegistryService/Heartbeat"')).length >= CLIENT_APPS.length, 10_000, 'a round of heartbeats');
    const answeredBeforeKill = calls.answered();
    const killed = await registryA.stop('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');

    // Every app registers at registry B, and the gateway's watches of user and order follow it there.
    const gateway = stack.processes.find((p) => p.options.app === 'gateway')!;
    const watchResumedAtB = (service: string) =>
      gateway.lines.some((line) => line.includes('"registry watch resumed"') && line.includes(`"service_name":"${service}"`) && line.includes(`"registry_address":"registry:${secondPort}"`));
    await eventually(async () => JSON.stringify(await servicesAt(secondPort)) === JSON.stringify(expectedServices()), 20_000, 'every app registered at registry B');
    await eventually(() => watchResumedAtB('user') && watchResumedAtB('order'), 20_000, "the gateway's watches on registry B");
    const answeredAtMove = calls.answered();
    await new Promise((resolve) => setTimeout(resolve, CALLS_AROUND_MS));
    const result = await calls.stop();
    process.stdout.write(`registry failover | calls ${result.calls} (${answeredAtMove - answeredBeforeKill} between the kill and the move) | failed ${JSON.stringify(result.failures)} | partial ${JSON.stringify(result.partialReasons)}\n`);

    expect(result.failures).toEqual({});
    expect(result.partialReasons).toEqual({});
    // Calls went on through the whole failover, not around it.
    expect(answeredBeforeKill).toBeGreaterThan(0);
    expect(answeredAtMove).toBeGreaterThan(answeredBeforeKill);
    expect(result.calls).toBeGreaterThan(answeredAtMove);
    for (const app of CLIENT_APPS) {
      const child = stack.processes.find((p) => p.options.app === app)!;
      const moves = child.lines.filter((line) => line.includes('moving to'));
      expect(moves.length).toBeGreaterThan(0);
    }
  });
});
