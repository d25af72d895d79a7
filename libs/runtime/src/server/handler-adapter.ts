import {
  status as Status,
  type Deadline,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { statusError, toStatusError } from '../errors/status-mapping';
import { runInCallContext, type CallContext } from './call-context';
import { composeServerMiddleware, type CallOutcome, type ServerMiddleware } from './server-middleware';
import type { ServerStreamHandler, ServiceRegistration, UnaryHandler } from './service-handlers';

type IncomingCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;

function deadlineMillis(deadline: Deadline): number | undefined {
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) ? ms : undefined;
}

// Builds the handler's view of the call, with a signal that fires on cancel or deadline so work
// stops as soon as nobody is waiting for it.
function contextFor(call: IncomingCall, method: string): { context: CallContext; release: () => void } {
  const controller = new AbortController();
  const deadline = deadlineMillis(call.getDeadline());
  const onCancelled = () => controller.abort(new Error('call cancelled by the client or its deadline'));
  call.once('cancelled', onCancelled);
  const timer =
    deadline === undefined
      ? undefined
      : setTimeout(() => controller.abort(new Error('deadline exceeded')), Math.max(0, deadline - Date.now()));
  timer?.unref();
  const context: CallContext = { method, metadata: call.metadata, peer: call.getPeer(), deadline, signal: controller.signal };
  const release = () => {
    if (timer) clearTimeout(timer);
    call.removeListener('cancelled', onCancelled);
  };
  return { context, release };
}

async function settle(context: CallContext, work: () => Promise<void>): Promise<CallOutcome> {
  try {
    await work();
    return { code: Status.OK };
  } catch (error) {
    // A handler that stopped because its caller left is not a server fault.
    const mapped = context.signal.aborted
      ? statusError(context.deadline !== undefined && Date.now() >= context.deadline ? Status.DEADLINE_EXCEEDED : Status.CANCELLED, String(context.signal.reason?.message ?? 'cancelled'))
      : toStatusError(error);
    // Keep the original for logs; the client only sees the mapped status.
    if (mapped !== error) Object.assign(mapped, { cause: error });
    return { code: mapped.code, error: mapped };
  }
}

function adaptUnary(method: string, handler: UnaryHandler<unknown, unknown>, middleware: ServerMiddleware[]): UntypedHandleCall {
  return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    const { context, release } = contextFor(call, method);
    let response: unknown;
    const handle = () =>
      settle(context, async () => {
        response = await runInCallContext(context, () => handler(call.request, context));
      });
    void composeServerMiddleware(middleware, context, handle).then((outcome) => {
      release();
      if (outcome.error) callback(toStatusError(outcome.error));
      else callback(null, response);
    });
  };
}

function adaptServerStream(method: string, handler: ServerStreamHandler<unknown, unknown>, middleware: ServerMiddleware[]): UntypedHandleCall {
  return (call: ServerWritableStream<unknown, unknown>) => {
    const { context, release } = contextFor(call, method);
    const streamContext = { ...context, send: (message: unknown) => void call.write(message) };
    const handle = () => settle(context, () => runInCallContext(context, () => handler(call.request, streamContext)));
    void composeServerMiddleware(middleware, context, handle).then((outcome) => {
      release();
      if (context.signal.aborted) return;
      if (outcome.error) call.emit('error', toStatusError(outcome.error));
      else call.end();
    });
  };
}

/** Turns async handlers into a grpc-js service implementation that runs `middleware` around each call. */
export function toGrpcImplementation(service: ServiceRegistration, middleware: ServerMiddleware[]): UntypedServiceImplementation {
  const implementation: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(service.definition)) {
    const handler = service.handlers[name];
    if (!handler) throw new Error(`service ${service.name} has no handler for ${name}`);
    if (method.requestStream) throw new Error(`${method.path}: client streaming is not supported`);
    implementation[name] = method.responseStream
      ? adaptServerStream(method.path, handler as ServerStreamHandler<unknown, unknown>, middleware)
      : adaptUnary(method.path, handler as UnaryHandler<unknown, unknown>, middleware);
  }
  return implementation;
}
