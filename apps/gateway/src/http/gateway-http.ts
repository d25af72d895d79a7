import type { ChannelCredentials, Metadata } from '@grpc/grpc-js';
import { descriptorSetBase64 } from '@switchyard/proto';
import { descriptorRegistry, type Logger, type ServerLimits, type StatusError } from '@switchyard/runtime';
import type { HttpConfig } from './http-config';
import { startHttpFace, type HttpFace } from './http-face';
import { httpRoutes } from './http-rules';
import { loopbackInvoker } from './loopback-invoker';
import { openApiDocument } from './openapi-document';

export interface GatewayHttpOptions {
  http: HttpConfig;
  /** The services the gateway serves over gRPC; their annotated methods get HTTP routes. */
  serviceNames: readonly string[];
  /** Where the gateway's own gRPC server answers (once it is bound), and how to dial it. */
  grpcAddress: string | Promise<string>;
  credentials?: ChannelCredentials;
  serverLimits?: ServerLimits;
  deadlineMs: number;
  version: string;
  toEdgeError: (error: unknown) => StatusError;
  /** HTTP headers passed on as call metadata besides `authorization` (the canary header). */
  forwardedHeaders?: readonly string[];
  logger: Logger;
  /** Names the HTTP client's address on its loopback call (rate limits by address). */
  stampClientAddress?: (metadata: Metadata, address: string) => void;
}

/** `host` as a dialable address: a wildcard bind is reached on loopback. */
export function loopbackAddress(host: string, port: number): string {
  if (host === '0.0.0.0' || host === '' || host === '::' || host === '[::]') return `127.0.0.1:${port}`;
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The HTTP/JSON face over the gateway's gRPC server: routes and /openapi.json from the protos. */
export async function startGatewayHttp(options: GatewayHttpOptions): Promise<HttpFace> {
  const registry = descriptorRegistry(descriptorSetBase64);
  const routes = httpRoutes(registry, options.serviceNames);
  const loopback = loopbackInvoker({ address: options.grpcAddress, credentials: options.credentials, serverLimits: options.serverLimits, logger: options.logger, deadlineMs: options.deadlineMs });
  let face: HttpFace;
  try {
    face = await startHttpFace({
      host: options.http.host,
      port: options.http.port,
      bodyLimitBytes: options.http.bodyLimitBytes,
      routes,
      registry,
      invoke: loopback.invoke,
      toEdgeError: options.toEdgeError,
      forwardedHeaders: options.forwardedHeaders,
      openApi: openApiDocument(routes, { title: 'Switchyard', version: options.version }),
      logger: options.logger,
      stampClientAddress: options.stampClientAddress,
    });
  } catch (error) {
    loopback.close();
    throw new Error(`cannot listen on ${options.http.host}:${options.http.port} for HTTP (${(error as Error).message}); set HTTP_PORT to a free port or HTTP_HOST to a local address`);
  }
  options.logger.info({ port: face.port, routes: routes.length }, 'gateway HTTP/JSON serving');
  return {
    port: face.port,
    close: async () => {
      await face.close();
      loopback.close();
    },
  };
}
