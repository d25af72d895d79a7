import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { orderV1, userV1 } from '@switchyard/proto';
import { createScratchStorage } from '@switchyard/storage/testing';
import { composeNodeOptions } from '@switchyard/testing';
import { unary } from '../clients/grpc-unary';
import type { StackLauncher } from '../scenarios/scenario';

/** The built apps, each in a server child (so its CPU and RSS are sampled like any server's). */
export type AppName = 'registry' | 'user' | 'order' | 'gateway';

export interface AppStackOptions {
  /** Added to every app's environment (e.g. tracing settings). */
  env?: Record<string, string>;
  /** Added to one app's environment (e.g. FAULTS on user and order). */
  envByApp?: Partial<Record<AppName, Record<string, string>>>;
  /** The app the load generator calls: its RSS is the one in the table. */
  answering: AppName;
  /** The apps to start (default all four): the registry always, then user and order, the gateway last. */
  apps?: AppName[];
  /** DATABASE_URL of user and order: PostgreSQL instead of SQLite. */
  databaseUrl?: string;
}

export interface AppStack {
  registryAddress: string;
  /** The address of every app started. */
  address: Partial<Record<AppName, string>> & { registry: string };
}

/**
 * registry, user, order and gateway from dist/apps, as docker-compose runs them (its NODE_OPTIONS
 * included) but on 127.0.0.1: SQLite in a fresh temporary DATA_DIR (removed when the variant stops) unless `databaseUrl` is
 * set, logs at info as JSON to the server child's stdout (/dev/null), no drain delay.
 */
export async function startAppStack(launcher: StackLauncher, options: AppStackOptions): Promise<AppStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-apps-'));
  launcher.afterStop(async () => rmSync(dataDir, { recursive: true, force: true }));
  const chosen = new Set<AppName>(['registry', ...(options.apps ?? ['user', 'order', 'gateway'])]);
  const apps = (['registry', 'user', 'order', 'gateway'] as const).filter((app) => chosen.has(app));
  const ports = {} as Record<AppName, number>;
  for (const app of apps) ports[app] = await launcher.freePort();
  const address = Object.fromEntries(apps.map((app) => [app, `127.0.0.1:${ports[app]}`])) as Record<AppName, string>;
  const start = (app: AppName) =>
    launcher.startServer(
      app,
      { kind: 'app', main: join(launcher.workspaceRoot, 'dist', 'apps', app, 'main.js'), port: ports[app] },
      {
        env: {
          GRPC_HOST: '127.0.0.1',
          GRPC_PORT: String(ports[app]),
          ADVERTISE_ADDRESS: address[app],
          REGISTRY_ADDRESS: address.registry,
          DATA_DIR: dataDir,
          ...(options.databaseUrl && (app === 'user' || app === 'order') ? { DATABASE_URL: options.databaseUrl } : {}),
          LOG_LEVEL: 'info',
          LOG_FORMAT: 'json',
          DRAIN_DELAY_MS: '0',
          SHUTDOWN_TIMEOUT_MS: '2000',
          FAULTS: '',
          // Events off unless a scenario turns them on, whatever the harness's own environment says.
          EVENTS_URL: '',
          // The gateway's HTTP/JSON face is not benchmarked here: a free loopback port, never 8080.
          ...(app === 'gateway' ? { HTTP_HOST: '127.0.0.1', HTTP_PORT: '0' } : {}),
          ...composeNodeOptions(launcher.workspaceRoot, app),
          ...options.env,
          ...options.envByApp?.[app],
        },
        answersCalls: app === options.answering,
      },
    );
  // As LocalStack does: registry first, user and order together, the gateway last.
  await start('registry');
  await Promise.all((['user', 'order'] as const).filter((app) => chosen.has(app)).map(start));
  if (chosen.has('gateway')) await start('gateway');
  return { registryAddress: address.registry, address };
}

/**
 * DATABASE_URL of a fresh PostgreSQL schema at 127.0.0.1:5432, dropped when the variant stops;
 * undefined for SQLite (the apps then use their DATA_DIR).
 */
export async function scratchDatabaseUrl(launcher: StackLauncher, engine: 'sqlite' | 'postgres', prefix: string): Promise<string | undefined> {
  if (engine === 'sqlite') return undefined;
  const scratch = await createScratchStorage('postgres', prefix);
  launcher.afterStop(() => scratch.dispose());
  return scratch.databaseUrl;
}

/** Retries `attempt` for up to 15 s: order learns about user through the registry a moment after both are up. */
async function retrying<T>(attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/**
 * Creates `users` users with `ordersPerUser` orders each through the apps' own APIs (plain grpc-js
 * clients from the harness, straight to user and order), and returns the users' ids.
 */
export async function seedUsersWithOrders(stack: AppStack, users: number, ordersPerUser: number): Promise<string[]> {
  const { user: userAddress, order: orderAddress } = stack.address;
  if (!userAddress || (ordersPerUser > 0 && !orderAddress)) throw new Error('seeding users needs the user app, and their orders the order app');
  const userClient = new userV1.UserServiceClient(userAddress, credentials.createInsecure());
  const orderClient = new orderV1.OrderServiceClient(orderAddress ?? userAddress, credentials.createInsecure());
  try {
    const ids = await Promise.all(
      Array.from({ length: users }, async (_, i) => {
        const { user } = await retrying(() =>
          unary<userV1.CreateUserRequest, userV1.CreateUserResponse>(userClient.createUser.bind(userClient), { name: `Bench User ${i}`, email: `bench${i}@example.com` }),
        );
        return user!.id;
      }),
    );
    await Promise.all(
      ids.map(async (userId, u) => {
        for (let o = 0; o < ordersPerUser; o++) {
          await retrying(() =>
            unary<orderV1.CreateOrderRequest, orderV1.CreateOrderResponse>(orderClient.createOrder.bind(orderClient), {
              userId,
              items: [{ sku: `SKU-${(u + o) % 17}`, quantity: 1 + o, unitPriceCents: 250 + 10 * o }],
              requestId: `bench-${u}-${o}`,
            }),
          );
        }
      }),
    );
    return ids;
  } finally {
    userClient.close();
    orderClient.close();
  }
}
