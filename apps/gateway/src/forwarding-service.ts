import type { Client, Metadata, CallOptions, ServiceError, ClientUnaryCall } from '@grpc/grpc-js';
import { callUnary, type ServiceRegistration, type UnaryHandler } from '@switchyard/runtime';
import { forwardedFrom } from './forwarded-metadata';
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
  /**
   * Metadata of the incoming call passed on upstream (forwardedMetadataKeys: the canary header,
   * the subject). Default none.
   */
  forwardedMetadata?: readonly string[];
}

/**
 * Serves `service` on the gateway by forwarding each of its unary methods to `client` (a client
 * of the same service from the shared factory, so deadline, retry and tracing apply and the
 * incoming call's remaining deadline carries over). Built from the generated definition: a new
 * method in the proto is forwarded with no code here.
 */
export function forwardingService(service: PublicService, client: Client, options: ForwardingOptions): ServiceRegistration {
  const handlers: Record<string, UnaryHandler<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(service.definition)) {
    if (method.requestStream || method.responseStream) throw new Error(`${method.path}: only unary methods can be forwarded`);
    const call = (client as unknown as Record<string, UntypedUnaryMethod>)[name];
    if (typeof call !== 'function') throw new Error(`${method.path}: the client has no method ${name}`);
    const bound = call.bind(client);
    handlers[name] = (request, context) =>
      callUnary(bound, request, { metadata: forwardedFrom(context.metadata, options.forwardedMetadata ?? []) }).catch((error: unknown) => {
        throw options.toEdgeError(error);
      });
  }
  return { name: service.name, definition: service.definition, handlers };
}
