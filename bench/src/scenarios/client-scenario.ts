import type { Scenario, StackLauncher, Variant, VariantStack } from './scenario';
import { TRACING_10_PERCENT } from './switchyard-environment';

/** One bare grpc-js server per variant, so only the client differs between rows. */
async function bareServer(launcher: StackLauncher): Promise<string> {
  const { port } = await launcher.startServer('user (bare grpc-js)', { kind: 'baseline-user' }, { answersCalls: true });
  return `127.0.0.1:${port}`;
}

function switchyardClient(name: string, description: string, tracing: Record<string, string>): Variant {
  return {
    name,
    description: `createClientFactory client (deadline, retry with backups, logging at info) straight to the server's address; ${description}`,
    async start(launcher): Promise<VariantStack> {
      return { client: { kind: 'switchyard-user', target: await bareServer(launcher) }, clientEnv: { ...tracing, LOG_LEVEL: 'info' } };
    },
  };
}

/**
 * unary's client side taken apart: GetUser against the same bare grpc-js server, from the bare
 * client and from Switchyard's client with the tracing SDK off, on with a sampler that drops every
 * call, and at unary's 10%. The load generator is client-bound in `unary`, so its client CPU per
 * call is what sets calls/s there.
 */
export const clientScenario: Scenario = {
  name: 'client',
  description: "GetUser from a bare grpc-js server: the Switchyard client's layers and tracing, one at a time",
  variants: [
    {
      name: 'grpc-js',
      description: 'bare grpc-js client, default options (the server is bare grpc-js in every row)',
      async start(launcher) {
        return { client: { kind: 'baseline-user', target: await bareServer(launcher) } };
      },
    },
    switchyardClient('switchyard, no tracing SDK', 'OTEL_SDK_DISABLED=true', { OTEL_SDK_DISABLED: 'true' }),
    switchyardClient('switchyard, SDK drops every call', 'tracing SDK on, sampler always_off (no exporter)', { ...TRACING_10_PERCENT, OTEL_TRACES_SAMPLER: 'always_off' }),
    switchyardClient('switchyard, SDK at 10%', "tracing SDK on, 10% sampled, no exporter: unary's client", { ...TRACING_10_PERCENT }),
  ],
};
