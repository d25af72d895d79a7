import { status as Status, type ServerUnaryCall, type ServerWritableStream, type UntypedHandleCall, type UntypedServiceImplementation, type sendUnaryData } from '@grpc/grpc-js';
import { statusError, toStatusError } from '../errors/status-mapping';
import { runInCallContext, type CallContext } from './call-context';
import { IncomingCallContext } from './incoming-call-context';
import { rejectingUndecodable } from './request-decoding';
import { composeServerMiddleware, type CallOutcome, type ServerMiddleware } from './server-middleware';
import type { ServerStreamContext, ServerStreamHandler, ServiceRegistration, UnaryHandler } from './service-handlers';

const OK: CallOutcome = Object.freeze({ code: Status.OK });

function failed(context: CallContext, error: unknown): CallOutcome {
  // A handler that stopped because its caller left is not a server fault.
  const mapped = context.signal.aborted
    ? statusError(context.deadline !== undefined && Date.now() >= context.deadline ? Status.DEADLINE_EXCEEDED : Status.CANCELLED, String(context.signal.reason?.message ?? 'cancelled'))
    : toStatusError(error);
  // Keep the original for logs; the client only sees the mapped status.
  if (mapped !== error) Object.assign(mapped, { cause: error });
  return { code: mapped.code, error: mapped };
}

/**
 * Runs the handler in the call's context and settles to its outcome, never rejecting. Written
 * with then() rather than async/await: with async hooks on, each await costs extra promises.
 */
function settle<T>(context: CallContext, work: () => Promise<T>, onResult: (result: T) => void): Promise<CallOutcome> {
  let running: Promise<T>;
  try {
    running = runInCallContext(context, work);
  } catch (error) {
    return Promise.resolve(failed(context, error));
  }
  return Promise.resolve(running).then(
    (result) => {
      onResult(result);
      return OK;
    },
    (error: unknown) => failed(context, error),
  );
}

function adaptUnary(method: string, handler: UnaryHandler<unknown, unknown>, middleware: ServerMiddleware[]): UntypedHandleCall {
  return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    const context = new IncomingCallContext(call, method);
    let response: unknown;
    const handle = () => settle(context, () => handler(call.request, context), (result) => void (response = result));
    void composeServerMiddleware(middleware, context, handle).then((outcome) => {
      context.release();
      if (outcome.error) callback(toStatusError(outcome.error));
      else callback(null, response);
    });
  };
}

function adaptServerStream(method: string, handler: ServerStreamHandler<unknown, unknown>, middleware: ServerMiddleware[]): UntypedHandleCall {
  return (call: ServerWritableStream<unknown, unknown>) => {
    const context = new IncomingCallContext(call, method);
    const { method: path, metadata, peer, peerIdentity, deadline, signal } = context;
    const streamContext: ServerStreamContext<unknown> = {
      method: path,
      metadata,
      peer,
      peerIdentity,
      deadline,
      signal,
      send: (message) => call.write(message),
      onDrain: (listener) => {
        call.once('drain', listener);
        return () => void call.off('drain', listener);
      },
      // grpc-js emits 'cancelled' when a call is over, also after a status was delivered.
      onClosed: (listener) => (call.cancelled ? queueMicrotask(listener) : void call.once('cancelled', listener)),
    };
    const handle = () => settle(context, () => handler(call.request, streamContext), () => undefined);
    void composeServerMiddleware(middleware, context, handle).then((outcome) => {
      // Read before release: a stream whose client left ends with nothing more to write.
      const aborted = context.signal.aborted;
      context.release();
      if (aborted) return;
      if (outcome.error) call.emit('error', toStatusError(outcome.error));
      else call.end();
    });
  };
}

/** Turns async handlers into a grpc-js service implementation that runs `middleware` around each call. */
export function toGrpcImplementation(service: ServiceRegistration, middleware: ServerMiddleware[]): UntypedServiceImplementation {
  const implementation: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(service.definition)) {
    if (!service.handlers[name]) throw new Error(`service ${service.name} has no handler for ${name}`);
    const handler = rejectingUndecodable(service.handlers[name]);
    if (method.requestStream) throw new Error(`${method.path}: client streaming is not supported`);
    implementation[name] = method.responseStream
      ? adaptServerStream(method.path, handler as ServerStreamHandler<unknown, unknown>, middleware)
      : adaptUnary(method.path, handler as UnaryHandler<unknown, unknown>, middleware);
  }
  return implementation;
}
