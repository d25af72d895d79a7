import type { StackLauncher, VariantStack } from './scenario';
import { startRegistryChild, SWITCHYARD_SERVER_ENV } from './switchyard-environment';

/**
 * unary's Switchyard variant (registry child, startService around the fixture GetUser, client
 * from createClientFactory on registry:///user) with the tracing environment `tracing` on the
 * registry, the server and the load generator alike.
 */
export async function startSwitchyardUnaryStack(launcher: StackLauncher, tracing: Record<string, string>): Promise<VariantStack> {
  const registryAddress = await startRegistryChild(launcher, tracing);
  await launcher.startServer(
    'user (Switchyard)',
    { kind: 'switchyard-user', register: true },
    { env: { ...SWITCHYARD_SERVER_ENV, ...tracing, GRPC_PORT: '0', REGISTRY_ADDRESS: registryAddress }, answersCalls: true },
  );
  return {
    client: { kind: 'switchyard-user', target: 'registry:///user' },
    clientEnv: { ...tracing, LOG_LEVEL: 'info', REGISTRY_ADDRESS: registryAddress },
  };
}
