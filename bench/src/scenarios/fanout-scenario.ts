import { seedUsersWithOrders, startAppStack, type AppStack } from '../servers/app-stack';
import type { Scenario, StackLauncher, Variant, VariantStack } from './scenario';
import { TRACING_10_PERCENT } from './switchyard-environment';

const SEEDED_USERS = 50;
const ORDERS_PER_USER = 3;
/** Every upstream call of the gateway waits this long first (the apps' FAULTS). */
const UPSTREAM_DELAY = '5ms';
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
        async start(launcher) {
          const faults = `GetUser:delay=${UPSTREAM_DELAY};ListOrders:delay=${UPSTREAM_DELAY}`;
          const { variant } = await appStackVariant(launcher, 'GetUserWithOrders', { faults });
          return { ...variant, mode: { kind: 'closed', concurrency: callers } };
        },
      }),
    ),
  ],
};
