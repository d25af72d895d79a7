import { createAppContext, createPeerClients, runMain, startService } from '@switchyard/runtime';
import { grpcUpstream } from './grpc-upstream';
import { createGatewayService } from './user-with-orders';

runMain(async () => {
  const app = createAppContext('gateway');
  const clients = createPeerClients(app);
  const upstream = grpcUpstream(clients, { user: 'registry:///user', order: 'registry:///order' });
  await startService({
    ...app,
    services: [createGatewayService(upstream)],
    onShutdown: () => clients.close(),
  });
});
