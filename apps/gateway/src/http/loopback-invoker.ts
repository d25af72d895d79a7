import { Metadata, makeGenericClientConstructor, type CallOptions, type ChannelCredentials, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { callUnary, createClientFactory, type Logger, type ServerLimits } from '@switchyard/runtime';

/** Calls a gRPC method of the gateway with an encoded request; resolves to the encoded response. */
export type GrpcInvoker = (grpcPath: string, request: Uint8Array, metadata: Metadata, signal: AbortSignal) => Promise<Uint8Array>;

export interface LoopbackOptions {
  /**
   * The gateway's own gRPC address, e.g. `127.0.0.1:50050`; a promise while its server is still
   * binding (GRPC_PORT=0), so HTTP can listen first and be ready once gRPC reports SERVING.
   */
  address: string | Promise<string>;
  credentials?: ChannelCredentials;
  /** The gateway server's limits (GRPC_MAX_*), which its own client must keep to. */
  serverLimits?: ServerLimits;
  logger: Logger;
  /** Deadline of HTTP calls (DEFAULT_DEADLINE_MS); the gateway's calls upstream inherit what is left. */
  deadlineMs: number;
}

const RawClient = makeGenericClientConstructor({}, 'GatewayLoopback');
const passThrough = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
// One function for every call, so the client keeps one method definition per path.
const answerAsIs = (bytes: Buffer) => bytes;

/**
 * HTTP calls reach the gateway's methods as gRPC calls to its own port, so they take exactly the
 * path gRPC callers take: the same server middleware (tracing, logging, and whatever auth or
 * limits are added there), handlers and forwarding. The client comes from the shared factory
 * (a CLIENT span, the deadline) but never retries: the gateway's own calls upstream do that.
 */
export function loopbackInvoker(options: LoopbackOptions): { invoke: GrpcInvoker; close: () => void } {
  const clients = createClientFactory({
    logger: options.logger,
    credentials: options.credentials,
    serverLimits: options.serverLimits,
    defaultDeadlineMs: options.deadlineMs,
    idempotentMethods: new Set(),
    retryPolicy: { retryThrottling: false, backupAttempts: false },
  });
  const client = Promise.resolve(options.address).then((address) => clients.get(RawClient, `dns:///${address}`));
  return {
    invoke: async (grpcPath, request, metadata, signal) => {
      const loopback = await client;
      return callUnary<Uint8Array, Buffer>(
        (message: Uint8Array, md: Metadata, callOptions: Partial<CallOptions>, callback: (error: ServiceError | null, response: Buffer) => void): ClientUnaryCall =>
          loopback.makeUnaryRequest(grpcPath, passThrough, answerAsIs, message, md, callOptions, (error, response) => callback(error, response as Buffer)),
        request,
        { metadata, signal },
      );
    },
    close: () => clients.close(),
  };
}
