import { ServerCredentials, type Server, type ServerOptions } from '@grpc/grpc-js';
import { DEFAULT_SERVER_LIMITS, type ServerLimits } from '../config/server-limits-config';
import { GrpcServer } from './grpc-server';
import { toGrpcImplementation } from './handler-adapter';
import { deferDecodingErrors } from './request-decoding';
import type { ServerMiddleware } from './server-middleware';
import type { ServiceRegistration } from './service-handlers';

export interface ServeOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  middleware?: ServerMiddleware[];
  /** What one peer may cost the server (GRPC_MAX_*, GRPC_KEEPALIVE_*). Default DEFAULT_SERVER_LIMITS. */
  limits?: ServerLimits;
  /** Added to the options that enforce `limits`, winning over them. */
  serverOptions?: ServerOptions;
  /** How the server listens (see serverCredentials). Default: plaintext. */
  credentials?: ServerCredentials;
  /** Adds services that are not ServiceRegistrations (health, reflection) before binding. */
  configure?: (server: Server) => void;
}

export interface Serving {
  server: Server;
  port: number;
}

/** Creates a grpc-js server with the given services behind `middleware` and binds it. */
export async function serve(services: ServiceRegistration[], options: ServeOptions): Promise<Serving> {
  const server = new GrpcServer(options.limits ?? DEFAULT_SERVER_LIMITS, options.serverOptions);
  options.configure?.(server);
  for (const service of services) {
    // Requests that fail to decode reach the middleware as INVALID_ARGUMENT (request-decoding.ts).
    server.addService(deferDecodingErrors(service.definition) as never, toGrpcImplementation(service, options.middleware ?? []));
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${options.host}:${options.port}`, options.credentials ?? ServerCredentials.createInsecure(), (error, boundPort) => {
      if (!error) return resolve(boundPort);
      server.forceShutdown();
      reject(new Error(`cannot listen on ${options.host}:${options.port} (${error.message}); set GRPC_PORT to a free port or GRPC_HOST to a local address`));
    }),
  );
  return { server, port };
}
