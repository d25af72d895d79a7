import { ServiceBroker, type BrokerOptions } from 'moleculer';
import { gatewayService } from './gateway.service';
import { orderService } from './order.service';
import { userService } from './user.service';

/**
 * How the nodes reach each other: the NATS transporter on a NATS server, or (no NATS server) the
 * TCP transporter with a static node list, so no UDP discovery reaches other machines' brokers.
 */
export type MoleculerTransport = { kind: 'nats'; url: string } | { kind: 'tcp'; ports: Record<string, number> };

export interface MoleculerNodeOptions {
  nodeID: string;
  /** Keeps this run's nodes apart from any other run on the same NATS server. */
  namespace: string;
  transport: MoleculerTransport;
}

export const MOLECULER_SERVICES = { user: userService, order: orderService, gateway: gatewayService };
export type MoleculerServiceName = keyof typeof MOLECULER_SERVICES;

function transporter({ nodeID, transport }: MoleculerNodeOptions): BrokerOptions['transporter'] {
  if (transport.kind === 'nats') return { type: 'NATS', options: { url: transport.url } };
  return {
    type: 'TCP',
    options: {
      udpDiscovery: false,
      port: transport.ports[nodeID],
      urls: Object.entries(transport.ports)
        .map(([id, port]) => `127.0.0.1:${port}/${id}`)
        .join(','),
    },
  };
}

/** A broker with Moleculer's defaults (JSON serializer, no metrics, no tracing; console logger at info: start-up and shutdown lines, nothing per call). */
export function createBroker(options: MoleculerNodeOptions): ServiceBroker {
  return new ServiceBroker({ nodeID: options.nodeID, namespace: options.namespace, transporter: transporter(options) });
}

/** One service on its own node (its own process), as Switchyard runs one service per process. */
export async function startMoleculerService(service: MoleculerServiceName, options: MoleculerNodeOptions): Promise<{ stop(): Promise<void> }> {
  const broker = createBroker(options);
  broker.createService(MOLECULER_SERVICES[service]);
  await broker.start();
  return { stop: () => broker.stop() };
}
