import { EventEmitter } from 'node:events';
import {
  Client,
  Metadata,
  status as Status,
  type CallOptions,
  type ChannelCredentials,
  type ClientUnaryCall,
  type Interceptor,
  type InterceptorOptions,
  type ServiceError,
  type StatusObject,
} from '@grpc/grpc-js';
import { ChannelCall } from './channel-call';
import type { InterceptingCallInterface } from './forwarding-call';

export type ClientConstructor<C extends Client> = new (address: string, creds: ChannelCredentials, options?: Record<string, unknown>) => C;

const grpcUnaryRequest = Client.prototype.makeUnaryRequest;

type NextCall = (options: InterceptorOptions) => InterceptingCallInterface;
type UnaryCallback = (error: ServiceError | null, response?: unknown) => void;
type ClientMethodDefinition = InterceptorOptions['method_definition'];
type MethodDefinitions = Record<string, ClientMethodDefinition & { originalName?: string }>;

/** What a unary method returns, answering for the outermost call of the chain (grpc-js's ClientUnaryCallImpl). */
class UnaryCallHandle extends EventEmitter implements ClientUnaryCall {
  call: InterceptingCallInterface | undefined;

  cancel(): void {
    this.call?.cancelWithStatus(Status.CANCELLED, 'Cancelled on client');
  }

  getPeer(): string {
    return this.call?.getPeer() ?? 'unknown';
  }

  getAuthContext(): ReturnType<ClientUnaryCall['getAuthContext']> {
    return this.call?.getAuthContext() ?? null;
  }
}

/**
 * The error a failed call calls back with, as grpc-js makes it. Its stack starts where the status
 * arrived: grpc-js also captures the caller's stack when every call starts, a cost each
 * call paid whether it failed or not.
 */
function callError(status: StatusObject): ServiceError {
  return Object.assign(new Error(`${status.code} ${Status[status.code]}: ${status.details}`), status);
}

// The optional (metadata, options) before the callback, as grpc-js's methods take them.
function unaryArguments(first: unknown, second: unknown, third: unknown): { metadata: Metadata; options: CallOptions; callback: UnaryCallback } {
  if (typeof first === 'function') return { metadata: new Metadata(), options: {}, callback: first as UnaryCallback };
  if (typeof second === 'function') {
    return first instanceof Metadata ? { metadata: first, options: {}, callback: second as UnaryCallback } : { metadata: new Metadata(), options: (first ?? {}) as CallOptions, callback: second as UnaryCallback };
  }
  if (!(first instanceof Metadata && second instanceof Object && typeof third === 'function')) throw new Error('Incorrect arguments passed');
  return { metadata: first, options: second as CallOptions, callback: third as UnaryCallback };
}

function startUnaryCall(chain: NextCall, definition: ClientMethodDefinition, request: unknown, metadata: Metadata, options: CallOptions, callback: UnaryCallback): ClientUnaryCall {
  const handle = new UnaryCallHandle();
  const call = chain({ ...options, method_definition: definition });
  handle.call = call;
  let response: unknown;
  let received = false;
  let answered = false;
  call.start(metadata, {
    onReceiveMetadata: (headers: Metadata) => void handle.emit('metadata', headers),
    onReceiveMessage: (message: unknown) => {
      if (received) call.cancelWithStatus(Status.UNIMPLEMENTED, 'Too many responses received');
      received = true;
      response = message;
    },
    onReceiveStatus: (status: StatusObject) => {
      if (answered) return;
      answered = true;
      if (status.code !== Status.OK) callback(callError(status));
      else if (!received) callback(callError({ code: Status.UNIMPLEMENTED, details: 'No message received', metadata: status.metadata }));
      else callback(null, response);
      handle.emit('status', status);
    },
  });
  call.sendMessage(request);
  call.halfClose();
  return handle;
}

/**
 * A subclass of a generated client whose unary methods run `interceptors` straight over the
 * channel: the chain is composed once per client, and each call makes only the objects the
 * interceptors themselves make, instead of grpc-js's per-call composition (the interceptor list
 * copied and filtered, a closure per interceptor, a method definition, the bottom call's listener
 * wrappers, the caller's stack). Its makeUnaryRequest takes the same path. Streaming methods,
 * and unary calls given interceptors of their own in their options, take grpc-js's path with the
 * same interceptors.
 */
export function withChannelUnaryCalls<C extends Client>(ClientClass: ClientConstructor<C>, interceptors: readonly Interceptor[]): ClientConstructor<C> {
  const service = (ClientClass as unknown as { service?: MethodDefinitions }).service ?? {};
  // The generated definitions by path; a path called with other (de)serializers gets its own.
  const definitions = new Map(Object.values(service).map((definition) => [definition.path, definition]));
  const definitionFor = (path: string, requestSerialize: (request: unknown) => Buffer, responseDeserialize: (bytes: Buffer) => unknown) => {
    const known = definitions.get(path);
    if (known?.requestSerialize === requestSerialize && known.responseDeserialize === responseDeserialize) return known;
    const made: ClientMethodDefinition = { path, requestStream: false, responseStream: false, requestSerialize, responseDeserialize };
    if (!known) definitions.set(path, made);
    return made;
  };
  const Base = ClientClass as unknown as ClientConstructor<Client>;
  class ChannelUnaryClient extends Base {
    readonly chain: NextCall;

    constructor(address: string, creds: ChannelCredentials, options?: Record<string, unknown>) {
      super(address, creds, { ...options, interceptors });
      const channel = this.getChannel();
      const bottom: NextCall = (callOptions) => new ChannelCall(channel, callOptions);
      this.chain = interceptors.reduceRight<NextCall>((next, interceptor) => (callOptions) => interceptor(callOptions, next), bottom);
    }
  }
  const prototype = ChannelUnaryClient.prototype as unknown as Record<string, unknown>;
  // Callers of makeUnaryRequest itself (a client without generated methods) take the channel path too.
  const makeUnaryRequest = function (
    this: ChannelUnaryClient,
    path: string,
    requestSerialize: (request: unknown) => Buffer,
    responseDeserialize: (bytes: Buffer) => unknown,
    request: unknown,
    first?: unknown,
    second?: unknown,
    third?: unknown,
  ): ClientUnaryCall {
    const { metadata, options, callback } = unaryArguments(first, second, third);
    if (options.interceptors || options.interceptor_providers) {
      return (grpcUnaryRequest as (...args: unknown[]) => ClientUnaryCall).call(this, path, requestSerialize, responseDeserialize, request, metadata, options, callback);
    }
    return startUnaryCall(this.chain, definitionFor(path, requestSerialize, responseDeserialize), request, metadata, options, callback);
  };
  prototype.makeUnaryRequest = makeUnaryRequest;
  // grpc-js's generated methods call Client.prototype.makeUnaryRequest itself, not this one.
  for (const [name, definition] of Object.entries(service)) {
    if (definition.requestStream || definition.responseStream) continue;
    const { path, requestSerialize, responseDeserialize } = definition;
    const method = function (this: ChannelUnaryClient, request: unknown, first?: unknown, second?: unknown, third?: unknown): ClientUnaryCall {
      return makeUnaryRequest.call(this, path, requestSerialize, responseDeserialize, request, first, second, third);
    };
    // The generated method's attributes (path, serializers) stay readable on it, as on grpc-js's.
    Object.assign(method, definition);
    prototype[name] = method;
    if (definition.originalName) prototype[definition.originalName] = method;
  }
  return ChannelUnaryClient as unknown as ClientConstructor<C>;
}
