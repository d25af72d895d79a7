import { scratchDatabaseUrl, seedUsersWithOrders, startAppStack, type AppName } from '../servers/app-stack';
import { fixtureUserIds } from '../user-fixture';
import type { Scenario, StackLauncher, Target, Variant, VariantStack } from './scenario';
import { startRegistryChild, SWITCHYARD_SERVER_ENV, TRACING_10_PERCENT } from './switchyard-environment';

type Engine = 'sqlite' | 'postgres';
type Call = 'GetUser' | 'ListOrders';

const SEEDED_USERS = 200;
const ORDERS_PER_USER = 3;
/** The shipped app's calls/s at least this share of the same calls served from memory. */
const NEAR_MEMORY: Target[] = [{ metric: 'throughput', atLeast: 0.8 }];

const SERVICE: Record<Call, 'user' | 'order'> = { GetUser: 'user', ListOrders: 'order' };
const ENGINE_NAME: Record<Engine, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };

/**
 * The call answered by the service's handlers from memory (bench/peers/switchyard, the fixture's
 * 1,000 users with 3 orders each) inside the same runtime the apps run in: the framework without
 * storage, the floor under the apps' rows.
 */
function inMemoryVariant(call: Call): Variant {
  const service = SERVICE[call];
  return {
    name: `${service} from memory`,
    description:
      `${call} on a Switchyard ${service} service from memory (bench/peers/switchyard) with the apps' server stack ` +
      '(tracing SDK at 10%, a log line per call at info, health, reflection, registration), called through registry:/// as the apps are',
    async start(launcher): Promise<VariantStack> {
      const registryAddress = await startRegistryChild(launcher, TRACING_10_PERCENT);
      await launcher.startServer(
        `${service} (in memory)`,
        { kind: 'peer', peer: 'switchyard', service },
        { env: { ...SWITCHYARD_SERVER_ENV, ...TRACING_10_PERCENT, GRPC_PORT: '0', REGISTRY_ADDRESS: registryAddress }, answersCalls: true },
      );
      return {
        client: { kind: 'switchyard-app', call, target: `registry:///${service}`, userIds: fixtureUserIds() },
        clientEnv: { ...TRACING_10_PERCENT, LOG_LEVEL: 'info', REGISTRY_ADDRESS: registryAddress },
      };
    },
  };
}

/** The app as shipped (dist/apps), on SQLite in a fresh DATA_DIR or on a fresh PostgreSQL schema. */
function shippedVariant(call: Call, engine: Engine): Variant {
  const service = SERVICE[call];
  return {
    name: `${service} app, ${ENGINE_NAME[engine]}`,
    description:
      `${call} on the built ${service} app (dist/apps/${service}) as shipped, on ${ENGINE_NAME[engine]}` +
      (engine === 'postgres' ? ' (127.0.0.1:5432, a fresh schema, dropped afterwards)' : ' (a fresh DATA_DIR)') +
      `, ${SEEDED_USERS} users with ${call === 'ListOrders' ? `${ORDERS_PER_USER} orders each` : 'no orders'}; same environment as the row from memory`,
    targets: NEAR_MEMORY,
    // PostgreSQL is an outside service: the smoke run checks the harness on SQLite alone.
    inSmoke: engine === 'sqlite',
    async start(launcher: StackLauncher): Promise<VariantStack> {
      const databaseUrl = await scratchDatabaseUrl(launcher, engine, 'bench_apps');
      // Orders are created through the order app, which asks the user app for their user.
      const apps: AppName[] = call === 'ListOrders' ? ['user', 'order'] : ['user'];
      const stack = await startAppStack(launcher, { env: TRACING_10_PERCENT, answering: service, apps, databaseUrl });
      const userIds = await seedUsersWithOrders(stack, SEEDED_USERS, call === 'ListOrders' ? ORDERS_PER_USER : 0);
      return {
        client: { kind: 'switchyard-app', call, target: `registry:///${service}`, userIds },
        clientEnv: { ...TRACING_10_PERCENT, LOG_LEVEL: 'info', REGISTRY_ADDRESS: stack.registryAddress },
        notes: ['server CPU/call sums every app of the row (registry and user, and order for ListOrders)'],
      };
    },
  };
}

function appsScenario(call: Call): Scenario {
  const service = SERVICE[call];
  return {
    name: `apps-${service}`,
    description: `${call} on the ${service} app as shipped (SQLite, PostgreSQL) against the same call from memory in the same runtime`,
    variants: [inMemoryVariant(call), shippedVariant(call, 'sqlite'), shippedVariant(call, 'postgres')],
  };
}

/** `--scenario apps` runs both. */
export const appsUserScenario = appsScenario('GetUser');
export const appsOrderScenario = appsScenario('ListOrders');
