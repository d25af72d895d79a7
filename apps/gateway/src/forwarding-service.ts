import type { Client, Metadata, CallOptions, ServiceError, ClientUnaryCall } from '@grpc/grpc-js';
import { callUnary, type ServiceRegistration, type UnaryHandler } from '@switchyard/runtime';
import { downstreamMetadata } from './auth/identity-metadata';
import type { CircuitBreaker } from './breaker/circuit-breaker';
import { withCallerHeaders } from './forwarded-metadata';
import type { PublicService } from './public-services';

type UntypedUnaryMethod = (
  request: unknown,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: unknown) => void,
) => ClientUnaryCall;

export interface ForwardingOptions {
  /**
   * What a caller may see of an upstream failure (see edge-errors.ts): the code and the
   * client-actionable details, never addresses, stacks or trailing metadata.
   */
  toEdgeError: (error: unknown) => Error;
  /** Headers of the caller passed on upstream besides its identity: the canary header (routingHeaderNames). Default none. */
  forwardedHeaders?: readonly string[];
  /** The breaker of the service called (one per upstream, shared with the gateway's other calls to it). Default none. */
  breaker?: CircuitBreaker;
}

/**
 * Serves `service` on the gateway by forwarding each of its unary methods to `client` (a client
 * of the same service from the shared factory, so deadline, retry and tracing apply and the
 * incoming call's remaining deadline carries over), with the caller's identity the gateway set
 * (x-switchyard-*) and none of the caller's own metadata. Built from the generated definition: a new
 * method in the proto is forwarded with no code here.
 */
export function forwardingService(service: PublicService, client: Client, options: ForwardingOptions): ServiceRegistration {
  const handlers: Record<string, UnaryHandler<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(service.definition)) {
    if (method.requestStream || method.responseStream) throw new Error(`${method.path}: only unary methods can be forwarded`);
    const call = (client as unknown as Record<string, UntypedUnaryMethod>)[name];
    if (typeof call !== 'function') throw new Error(`${method.path}: the client has no method ${name}`);
    const bound = call.bind(client);
    const forward = (request: unknown) => callUnary(bound, request, { metadata: withCallerHeaders(downstreamMetadata(), options.forwardedHeaders ?? []) });
    handlers[name] = (request) =>
      (options.breaker ? options.breaker.run(() => forward(request)) : forward(request)).catch((error: unknown) => {
        throw options.toEdgeError(error);
      });
  }
  return { name: service.name, definition: service.definition, handlers };
}
