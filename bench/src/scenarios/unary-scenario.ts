import type { Scenario } from './scenario';
import { TRACING_10_PERCENT } from './switchyard-environment';
import { startSwitchyardUnaryStack } from './switchyard-unary-stack';


/** GetUser from an in-memory store: bare grpc-js against the full Switchyard stack. */
export const unaryScenario: Scenario = {
  name: 'unary',
  description: 'GetUser from an in-memory store',
  variants: [
    {
      name: 'grpc-js',
      description: 'bare grpc-js server and client, default options, same generated definition and handler',
      async start(launcher) {
        const { port } = await launcher.startServer('user (bare grpc-js)', { kind: 'baseline-user' }, { answersCalls: true });
        return { client: { kind: 'baseline-user', target: `127.0.0.1:${port}` } };
      },
    },
    {
      name: 'switchyard',
      description:
        'startService (tracing + logging middleware at info to /dev/null, health, reflection, registration); ' +
        'createClientFactory client (tracing, deadline, retry, logging) on registry:///user via a registry child; tracing SDK on, 10% sampled, no exporter',
      targets: [
        { metric: 'throughput', atLeast: 0.85 },
        { metric: 'serverCpuPerCall', atMost: 1.2 },
        { metric: 'p99', atMost: 1.25 },
      ],
      async start(launcher) {
        const stack = await startSwitchyardUnaryStack(launcher, TRACING_10_PERCENT);
        return { ...stack, notes: ['client channel resolves registry:///user through a real registry process (its CPU is in server CPU/call)'] };
      },
    },
  ],
};
