import { createAppContext, createPeerClients, runMain, startService } from '@switchyard/runtime';
import { toEdgeError } from './edge-errors';
import { forwardingService } from './forwarding-service';
import { grpcUpstream } from './grpc-upstream';
import { PUBLIC_SERVICES } from './public-services';
import { createGatewayService } from './user-with-orders';

runMain(async () => {
  const app = createAppContext('gateway');
  const clients = createPeerClients(app);
  const upstream = grpcUpstream(clients, { user: 'registry:///user', order: 'registry:///order' });
  const forwarded = PUBLIC_SERVICES.map((service) => forwardingService(service, clients.get(service.client, `registry:///${service.app}`), { toEdgeError }));
  await startService({
    ...app,
    services: [createGatewayService(upstream), ...forwarded],
    onShutdown: () => clients.close(),
  });
});
