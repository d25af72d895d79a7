import { channelCredentials, createAppContext, createPeerClients, runMain, startService } from '@switchyard/runtime';
import { toEdgeError } from './edge-errors';
import { forwardingService } from './forwarding-service';
import { grpcUpstream } from './grpc-upstream';
import { loadHttpConfig } from './http/http-config';
import { loopbackAddress, startGatewayHttp } from './http/gateway-http';
import type { HttpFace } from './http/http-face';
import { PUBLIC_SERVICES } from './public-services';
import { createGatewayService } from './user-with-orders';

runMain(async () => {
  const app = createAppContext('gateway');
  const httpConfig = loadHttpConfig();
  const clients = createPeerClients(app);
  const upstream = grpcUpstream(clients, { user: 'registry:///user', order: 'registry:///order' });
  const forwarded = PUBLIC_SERVICES.map((service) => forwardingService(service, clients.get(service.client, `registry:///${service.app}`), { toEdgeError }));
  const services = [createGatewayService(upstream), ...forwarded];
  // Started once the gRPC port is known (GRPC_PORT=0 picks one), stopped with the gRPC server.
  const http: { face?: HttpFace; closed?: Promise<void> } = {};
  const grpc = await startService({
    ...app,
    services,
    // HTTP stops taking requests when gRPC does; its calls in flight finish first.
    endStreams: () => void (http.closed = http.face?.close()),
    onShutdown: async () => {
      await http.closed;
      clients.close();
    },
  });
  http.face = await startGatewayHttp({
    http: httpConfig,
    serviceNames: services.map((service) => service.name),
    grpcAddress: loopbackAddress(app.config.grpcHost, grpc.port),
    credentials: channelCredentials(app.config.tls),
    deadlineMs: app.config.defaultDeadlineMs,
    version: app.config.version,
    toEdgeError,
    logger: app.logger,
  });
});
