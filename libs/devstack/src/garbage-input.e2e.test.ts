// Malformed input sent through the gateway, against the BUILT apps on PostgreSQL with two user
// instances: each garbage call must be the caller's INVALID_ARGUMENT, never a server fault that
// the gateway's outlier ejection would count against a healthy user instance.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import { connectReflection, eventually, freePort, type ReflectionConnection } from '@switchyard/testing';
import type { AppProcess } from './app-process';
import { LocalStack } from './local-stack';
import { createScratchDatabase } from './postgres-database';

const workspaceRoot = resolve(__dirname, '../../..');
const GARBAGE_CALLS = 40;
const GOOD_CALLS = 20;
jest.setTimeout(120_000);

const GET_USER_WITH_ORDERS = 'switchyard.gateway.v1.GatewayService/GetUserWithOrders';

/** The instance each GetUser attempt went to, from the gateway's debug lines written from line `from` on. */
function getUserPeers(gateway: AppProcess, from: number): string[] {
  return gateway.lines
    .slice(from)
    .map((line) => {
      try {
        return JSON.parse(line) as { msg?: string; method?: string; peer?: string };
      } catch {
        return undefined;
      }
    })
    .filter((line) => line?.msg === 'outgoing rpc' && line.method?.endsWith('UserService/GetUser') === true)
    .map((line) => line!.peer ?? '');
}

describe('garbage through the gateway', () => {
  let stack: LocalStack;
  let database: { url: string; drop: () => Promise<void> };
  let dataDir: string;
  let registry: ReflectionConnection;

  const userAddresses = async () => {
    const response = (await registry.invoke('switchyard.registry.v1.RegistryService/Resolve', { serviceName: 'user' })).json as {
      instances?: { address: string; state: string }[];
    };
    return (response.instances ?? []).filter((i) => i.state === 'INSTANCE_STATE_SERVING').map((i) => i.address);
  };

  beforeAll(async () => {
    database = await createScratchDatabase('switchyard_garbage');
    dataDir = mkdtempSync(join(tmpdir(), 'switchyard-garbage-'));
    stack = await LocalStack.start({ workspaceRoot, dataDir, databaseUrl: database.url });
    registry = connectReflection(stack.address('registry'));
  });

  afterAll(async () => {
    registry?.close();
    await stack?.stop();
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it(`${GARBAGE_CALLS} calls with NUL in user_id are INVALID_ARGUMENT, and both user instances stay in rotation`, async () => {
    const port = await freePort();
    const second = `127.0.0.1:${port}`;
    await stack.startApp('user', { GRPC_PORT: String(port), ADVERTISE_ADDRESS: second });
    await eventually(async () => (await userAddresses()).length === 2, 10_000, 'two user instances registered');
    // A gateway of its own that logs each outgoing attempt and the instance it reached.
    const gatewayPort = await freePort();
    const gatewayProcess = await stack.startApp('gateway', { GRPC_PORT: String(gatewayPort), ADVERTISE_ADDRESS: `127.0.0.1:${gatewayPort}`, LOG_LEVEL: 'debug' });
    const users = connectReflection(stack.address('user'));
    const gateway = connectReflection(`127.0.0.1:${gatewayPort}`);
    try {
      const { user } = (await users.invoke('switchyard.user.v1.UserService/CreateUser', { name: 'Ada', email: `ada-${Date.now()}@example.com` })).json as { user: { id: string } };
      // Both instances answer before the garbage comes, so the round robin spreads it over both.
      await eventually(async () => {
        await gateway.invoke(GET_USER_WITH_ORDERS, { userId: user.id });
        return new Set(getUserPeers(gatewayProcess, 0)).size === 2;
      }, 10_000, 'the gateway reaching both user instances');

      // Each holds a NUL, which PostgreSQL's text type refuses: the case that reached it as INTERNAL.
      const garbage = Array.from({ length: GARBAGE_CALLS }, (_, i) => [`${user.id}\u0000`, `\u0000${i}`, `x\u0000\u001b[2J${i}`, `line\u0000\nbreak${i}`][i % 4]!);
      const codes = [];
      for (const userId of garbage) {
        codes.push(await gateway.invoke(GET_USER_WITH_ORDERS, { userId }).then(() => Status.OK, (error: { code?: number }) => error.code));
      }
      expect(new Set(codes)).toEqual(new Set([Status.INVALID_ARGUMENT]));

      const from = gatewayProcess.lines.length;
      for (let i = 0; i < GOOD_CALLS; i++) await gateway.invoke(GET_USER_WITH_ORDERS, { userId: user.id });
      const peers = getUserPeers(gatewayProcess, from);
      process.stdout.write(`garbage | ${GARBAGE_CALLS} garbage calls | then ${GOOD_CALLS} good calls went to ${JSON.stringify(Object.fromEntries([...new Set(peers)].map((peer) => [peer, peers.filter((p) => p === peer).length])))}\n`);
      expect(new Set(peers).size).toBe(2);
    } finally {
      users.close();
      gateway.close();
    }
  });
});
