import type { Client, ChannelCredentials } from '@grpc/grpc-js';
import { orderV1, userV1 } from '@switchyard/proto';
import type { MethodDefinitionLike } from '@switchyard/runtime';

/** A service behind the gateway whose calls outside clients may make through it. */
export interface PublicService {
  /** Fully-qualified name, as reflection and health know it. */
  name: string;
  /** The app it belongs to: the gateway forwards to `registry:///<app>`. */
  app: 'user' | 'order';
  definition: Record<string, MethodDefinitionLike<unknown, unknown>>;
  client: new (address: string, credentials: ChannelCredentials, options?: Record<string, unknown>) => Client;
}

/** A generated definition with its message types erased: forwarding handles every method alike. */
function untyped(definition: object): PublicService['definition'] {
  return definition as PublicService['definition'];
}

/**
 * The one list of what the gateway exposes: every method of each service listed here is routed
 * through the gateway's gRPC port (and its HTTP face, where the proto annotates it). Today that
 * is all of UserService and OrderService; a service or method left out stays internal.
 */
export const PUBLIC_SERVICES: readonly PublicService[] = [
  { name: 'switchyard.user.v1.UserService', app: 'user', definition: untyped(userV1.UserServiceService), client: userV1.UserServiceClient },
  { name: 'switchyard.order.v1.OrderService', app: 'order', definition: untyped(orderV1.OrderServiceService), client: orderV1.OrderServiceClient },
];
