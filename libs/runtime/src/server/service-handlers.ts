import type { CallContext } from './call-context';

/** A unary handler: returns the response or throws (a DomainError, or anything else for INTERNAL). */
export type UnaryHandler<Req, Res> = (request: Req, context: CallContext) => Promise<Res>;

/** What a server-streaming handler gets besides the request: a way to send messages. */
export interface ServerStreamContext<Res> extends CallContext {
  /** Queues a message; false when the stream's buffer is full: wait for onDrain before sending more. */
  send(message: Res): boolean;
  /** Calls `listener` once, the next time a full buffer has room again; returns a function that cancels it. */
  onDrain(listener: () => void): () => void;
  /**
   * Calls `listener` once the call is over for the transport: its status was delivered or the
   * client left. A stream whose client stopped reading stays open after the handler returned.
   */
  onClosed(listener: () => void): void;
}

/** A server-streaming handler: sends messages, resolves to end the stream, throws to fail it. */
export type ServerStreamHandler<Req, Res> = (request: Req, context: ServerStreamContext<Res>) => Promise<void>;

/** One method of a ts-proto grpc-js service definition (e.g. `UserServiceService.getUser`). */
export interface MethodDefinitionLike<Req, Res> {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestDeserialize(value: Buffer): Req;
  responseSerialize(value: Res): Buffer;
}

type HandlerFor<M> =
  M extends MethodDefinitionLike<infer Req, infer Res>
    ? M extends { requestStream: false; responseStream: false }
      ? UnaryHandler<Req, Res>
      : M extends { requestStream: false; responseStream: true }
        ? ServerStreamHandler<Req, Res>
        : never
    : never;

/**
 * The async handlers for every method of a generated service definition, e.g.
 * `ServiceHandlers<typeof UserServiceService>`. Client and bidirectional streams are not used by
 * Switchyard's services and are not supported.
 */
export type ServiceHandlers<Definition> = { [Method in keyof Definition]: HandlerFor<Definition[Method]> };

/** A generated service definition together with its handlers, ready for the server bootstrap. */
export interface ServiceRegistration {
  /** Fully-qualified service name, as health checks and reflection know it. */
  name: string;
  definition: Record<string, MethodDefinitionLike<unknown, unknown>>;
  handlers: Record<string, UnaryHandler<unknown, unknown> | ServerStreamHandler<unknown, unknown>>;
}

/** Pairs a generated definition with handlers of the matching types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any is what lets each method keep its own Req/Res
export function defineService<Definition extends Record<string, MethodDefinitionLike<any, any>>>(
  name: string,
  definition: Definition,
  handlers: ServiceHandlers<Definition>,
): ServiceRegistration {
  return {
    name,
    definition: definition as unknown as ServiceRegistration['definition'],
    handlers: handlers as unknown as ServiceRegistration['handlers'],
  };
}
