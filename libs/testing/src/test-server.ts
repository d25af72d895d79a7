import type { Server } from '@grpc/grpc-js';
import { serve, type ServerMiddleware, type ServiceRegistration } from '@switchyard/runtime';

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
  const { server, port } = await serve(services, { host: '127.0.0.1', port: 0, middleware });
  return { server, port, address: `127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}
