import { join } from 'node:path';
import type { StackLauncher, VariantStack } from './scenario';

/**
 * unary's Switchyard variant (registry child, startService around the fixture GetUser, client
 * from createClientFactory on registry:///user) with the tracing environment `tracing` on the
 * registry, the server and the load generator alike.
 */
export async function startSwitchyardUnaryStack(launcher: StackLauncher, tracing: Record<string, string>): Promise<VariantStack> {
  const registryPort = await launcher.freePort();
  const registryAddress = `127.0.0.1:${registryPort}`;
  const common = { GRPC_HOST: '127.0.0.1', LOG_LEVEL: 'info', LOG_FORMAT: 'json', DRAIN_DELAY_MS: '0', SHUTDOWN_TIMEOUT_MS: '2000', ...tracing };
  await launcher.startServer(
    'registry',
    { kind: 'app', main: join(launcher.workspaceRoot, 'dist', 'apps', 'registry', 'main.js'), port: registryPort },
    { env: { ...common, GRPC_PORT: String(registryPort) } },
  );
  await launcher.startServer(
    'user (Switchyard)',
    { kind: 'switchyard-user', register: true },
    { env: { ...common, GRPC_PORT: '0', REGISTRY_ADDRESS: registryAddress }, answersCalls: true },
  );
  return {
    client: { kind: 'switchyard-user', target: 'registry:///user' },
    clientEnv: { ...tracing, LOG_LEVEL: 'info', REGISTRY_ADDRESS: registryAddress },
  };
}
