import { createAppContext, createPeerClients, startService } from '@switchyard/runtime';
import { gatewayService, orderService, userService, type SwitchyardPeerServiceName } from './services';

/**
 * One service as its own Switchyard app: config from the environment the harness sets
 * (GRPC_PORT, REGISTRY_ADDRESS, LOG_LEVEL, OTEL_*), startService (tracing and logging middleware,
 * health, reflection, registration with the registry), and for the gateway the peer clients.
 */
export async function startSwitchyardPeerService(service: SwitchyardPeerServiceName): Promise<{ port: number; stop(): Promise<void> }> {
  const app = createAppContext(service);
  const clients = service === 'gateway' ? createPeerClients(app) : undefined;
  const services = service === 'user' ? [userService()] : service === 'order' ? [orderService()] : [gatewayService(clients!)];
  const running = await startService({ ...app, services, onShutdown: () => clients?.close() });
  return { port: running.port, stop: () => running.stop('benchmark finished') };
}
