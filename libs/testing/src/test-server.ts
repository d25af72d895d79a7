import { Server, ServerCredentials } from '@grpc/grpc-js';
import { toGrpcImplementation, type ServerMiddleware, type ServiceRegistration } from '@switchyard/runtime';

export interface TestServer {
  server: Server;
  /** `127.0.0.1:<port>` */
  address: string;
  port: number;
  /** Stops at once, cancelling calls in flight. */
  stop(): void;
}

/** Serves the given services on an ephemeral loopback port, with optional server middleware. */
export async function startTestServer(services: ServiceRegistration[], middleware: ServerMiddleware[] = []): Promise<TestServer> {
  const server = new Server();
  for (const service of services) {
    server.addService(service.definition as never, toGrpcImplementation(service, middleware));
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, boundPort) =>
      error ? reject(error) : resolve(boundPort),
    ),
  );
  return { server, port, address: `127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}
