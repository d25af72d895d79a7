import { seedUsersWithOrders, startAppStack, type AppStack } from '../servers/app-stack';
import type { Scenario, StackLauncher, Variant, VariantStack } from './scenario';
import { TRACING_10_PERCENT } from './switchyard-environment';

const SEEDED_USERS = 50;
const ORDERS_PER_USER = 3;
/** Every upstream call of the gateway waits this long first (the apps' FAULTS). */
const UPSTREAM_DELAY_MS = 5;
const UPSTREAM_DELAY = `${UPSTREAM_DELAY_MS}ms`;
/**
 * The delayed variants' loads. One caller at a time gives the fan-out's own latency: in series it
 * would be >= 10 ms, in parallel 5 ms plus the three calls' CPU time. Four callers add queueing
 * on the apps' shared core.
 */
const DELAYED_CALLERS = [1, 4];

async function appStackVariant(
  launcher: StackLauncher,
  call: 'GetUser' | 'GetUserWithOrders',
  options: { faults?: string } = {},
): Promise<{ stack: AppStack; variant: VariantStack }> {
  const faults: Record<string, string> = options.faults ? { FAULTS: options.faults } : {};
  const stack = await startAppStack(launcher, {
    env: TRACING_10_PERCENT,
    envByApp: { user: faults, order: faults },
    answering: call === 'GetUser' ? 'user' : 'gateway',
  });
  const userIds = await seedUsersWithOrders(stack, SEEDED_USERS, ORDERS_PER_USER);
  return {
    stack,
    variant: {
      client: { kind: 'switchyard-app', call, target: call === 'GetUser' ? 'registry:///user' : 'registry:///gateway', userIds },
      clientEnv: { ...TRACING_10_PERCENT, LOG_LEVEL: 'info', REGISTRY_ADDRESS: stack.registryAddress },
      notes: [
        `${SEEDED_USERS} users with ${ORDERS_PER_USER} orders each in SQLite; server CPU/call sums registry, user, order and gateway`,
        ...(options.faults ? [`FAULTS="${options.faults}" on user and order`] : []),
      ],
    },
  };
}

/**
 * The delayed fan-out with one caller on bare grpc-js (bench/peers/grpc-js, in memory): how close
 * to the 5 ms of delay gRPC on Node gets on this machine with no framework at all.
 */
const bareDelayedVariant: Variant = {
  name: `grpc-js gateway (bare, in memory), upstreams +${UPSTREAM_DELAY}, 1 caller`,
  description:
    `reference for the p50 target: user, order and gateway on bare grpc-js (bench/peers/grpc-js, default options, data in memory), ` +
    `user and order answering ${UPSTREAM_DELAY} late (setTimeout), the gateway asking both at once; one caller through the generated client`,
  async start(launcher) {
    const ports = { user: await launcher.freePort(), order: await launcher.freePort(), gateway: await launcher.freePort() };
    const upstream = { user: `127.0.0.1:${ports.user}`, order: `127.0.0.1:${ports.order}` };
    await Promise.all(
      (['user', 'order'] as const).map((service) =>
        launcher.startServer(`${service} (grpc-js)`, { kind: 'peer', peer: 'grpc-js', service, port: ports[service], delayMs: UPSTREAM_DELAY_MS }, {}),
      ),
    );
    await launcher.startServer('gateway (grpc-js)', { kind: 'peer', peer: 'grpc-js', service: 'gateway', port: ports.gateway, upstream, delayMs: 0 }, { answersCalls: true });
    return {
      client: { kind: 'peer', peer: 'grpc-js', call: 'GetUserWithOrders', target: `127.0.0.1:${ports.gateway}` },
      mode: { kind: 'closed', concurrency: 1 },
      notes: ['no SQLite, tracing, logging, deadlines, retries or registry: the floor under the Switchyard row above'],
    };
  },
};

/**
 * GetUserWithOrders through the gateway (three calls: client to gateway, gateway to user and to
 * order at once) against GetUser straight to the user app, on the same four built apps.
 */
export const fanoutScenario: Scenario = {
  name: 'fanout',
  description: 'GetUserWithOrders through the gateway vs GetUser direct, built apps on SQLite',
  variants: [
    {
      name: 'direct GetUser',
      description: 'Switchyard client on registry:///user: GetUser on the user app (dist/apps/user), registry, order and gateway up and idle',
      async start(launcher) {
        return (await appStackVariant(launcher, 'GetUser')).variant;
      },
    },
    {
      name: 'gateway',
      description: 'Switchyard client on registry:///gateway: GetUserWithOrders, the gateway asking user and order at once',
      targets: [{ metric: 'throughput', atLeast: 0.28 }],
      async start(launcher) {
        return (await appStackVariant(launcher, 'GetUserWithOrders')).variant;
      },
    },
    ...DELAYED_CALLERS.map(
      (callers): Variant => ({
        name: `gateway, upstreams +${UPSTREAM_DELAY}, ${callers} caller${callers === 1 ? '' : 's'}`,
        description:
          `the gateway variant with every upstream call delayed ${UPSTREAM_DELAY}, ${callers} concurrent caller${callers === 1 ? '' : 's'}: ` +
          'p50 <= 7 ms with one caller means user and order are asked in parallel (in series it would be >= 10 ms)',
        // The target is on the one-caller run: with more, the p50 also holds queueing.
        targets: callers === 1 ? [{ metric: 'p50Ms', atMost: 7 }] : [],
        // More callers take the same harness path as one.
        inSmoke: callers === 1,
        async start(launcher) {
          const faults = `GetUser:delay=${UPSTREAM_DELAY};ListOrders:delay=${UPSTREAM_DELAY}`;
          const { variant } = await appStackVariant(launcher, 'GetUserWithOrders', { faults });
          return { ...variant, mode: { kind: 'closed', concurrency: callers } };
        },
      }),
    ),
    bareDelayedVariant,
  ],
};
