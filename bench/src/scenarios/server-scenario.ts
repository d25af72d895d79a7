import { credentials } from '@grpc/grpc-js';
import { userV1 } from '@switchyard/proto';
import { unary } from '../clients/grpc-unary';
import { grpcFrame, H2LOAD, h2loadAvailable } from '../h2load-window';
import { scratchDatabaseUrl, seedUsersWithOrders, startAppStack } from '../servers/app-stack';
import { fixtureUserIds } from '../user-fixture';
import type { Scenario, StackLauncher, Variant, VariantStack } from './scenario';
import { startRegistryChild, SWITCHYARD_SERVER_ENV, TRACING_10_PERCENT } from './switchyard-environment';

const GET_USER = '/switchyard.user.v1.UserService/GetUser';
const SEEDED_USERS = 50;

/**
 * The request h2load will send, after one real gRPC call with it has answered OK: h2load reads
 * only HTTP statuses, and a gRPC error comes back as HTTP 200 too.
 */
const H2LOAD_MISSING = `${H2LOAD} not found: install nghttp2's h2load (Debian: apt-get install nghttp2-client) or point SWITCHYARD_H2LOAD at it`;

async function h2loadClient(address: string, id: string): Promise<VariantStack['client']> {
  if (!h2loadAvailable()) throw new Error(H2LOAD_MISSING);
  const client = new userV1.UserServiceClient(address, credentials.createInsecure());
  try {
    const { user } = await unary<userV1.GetUserRequest, userV1.GetUserResponse>(client.getUser.bind(client), { id });
    if (user?.id !== id) throw new Error(`GetUser ${id} at ${address} answered ${JSON.stringify(user)}`);
  } finally {
    client.close();
  }
  return { kind: 'h2load', target: address, path: GET_USER, requestBase64: grpcFrame(userV1.GetUserRequest.encode({ id }).finish()).toString('base64') };
}

async function shippedUserApp(launcher: StackLauncher, engine: 'sqlite' | 'postgres'): Promise<VariantStack> {
  const databaseUrl = await scratchDatabaseUrl(launcher, engine, 'bench_server');
  const stack = await startAppStack(launcher, { env: TRACING_10_PERCENT, answering: 'user', apps: ['user'], databaseUrl });
  const [id] = await seedUsersWithOrders(stack, SEEDED_USERS, 0);
  return { client: await h2loadClient(stack.address.user!, id), notes: ['server CPU/call sums the registry and user'] };
}

const variants: Variant[] = [
  {
    name: 'grpc-js',
    description: 'bare grpc-js server, default options, the generated definition and the fixture GetUser from memory',
    async start(launcher) {
      const { port } = await launcher.startServer('user (bare grpc-js)', { kind: 'baseline-user' }, { answersCalls: true });
      return { client: await h2loadClient(`127.0.0.1:${port}`, fixtureUserIds()[1]) };
    },
  },
  {
    name: 'switchyard',
    description:
      "the unary scenario's Switchyard server: startService (tracing and logging middleware at info, health, reflection, registration with a registry child), " +
      'the fixture GetUser from memory, tracing SDK on at 10%',
    targets: [
      { metric: 'throughput', atLeast: 0.85 },
      { metric: 'serverCpuPerCall', atMost: 1.2 },
    ],
    async start(launcher) {
      const registryAddress = await startRegistryChild(launcher, TRACING_10_PERCENT);
      const { port } = await launcher.startServer(
        'user (Switchyard)',
        { kind: 'switchyard-user', register: true },
        { env: { ...SWITCHYARD_SERVER_ENV, ...TRACING_10_PERCENT, GRPC_PORT: '0', REGISTRY_ADDRESS: registryAddress }, answersCalls: true },
      );
      return { client: await h2loadClient(`127.0.0.1:${port}`, fixtureUserIds()[1]), notes: ['server CPU/call sums the registry and user'] };
    },
  },
  {
    name: 'user app, SQLite',
    description: `the built user app (dist/apps/user) as shipped on SQLite, ${SEEDED_USERS} users, one of them asked for on every call`,
    start: (launcher) => shippedUserApp(launcher, 'sqlite'),
  },
  {
    name: 'user app, PostgreSQL',
    description: `the built user app as shipped on PostgreSQL (127.0.0.1:5432, a fresh schema), ${SEEDED_USERS} users, one of them asked for on every call`,
    inSmoke: false,
    start: (launcher) => shippedUserApp(launcher, 'postgres'),
  },
];

/**
 * GetUser driven by h2load, a C client that costs a fraction of a Node one per call: what is
 * measured is the server alone, the framework and the shipped app against bare grpc-js.
 */
export const serverScenario: Scenario = {
  name: 'server',
  description: 'GetUser sent by h2load (C, one connection, the closed loop\'s concurrency as streams): the server\'s cost alone',
  variants,
  unavailable() {
    if (h2loadAvailable()) return undefined;
    // CI installs h2load: there, a missing one is a failure, not a scenario left out.
    if (process.env.SWITCHYARD_REQUIRE_H2LOAD === '1') throw new Error(`${H2LOAD_MISSING} (SWITCHYARD_REQUIRE_H2LOAD=1)`);
    return H2LOAD_MISSING;
  },
};
