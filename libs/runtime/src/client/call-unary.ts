import { Metadata, status, type CallOptions, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { activeCallContext, type CallContext } from '../server/call-context';
import { IncomingCallContext } from '../server/incoming-call-context';

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

export interface UnaryCallOptions {
  metadata?: Metadata;
  /** Absolute deadline; the deadline interceptor supplies one when unset. */
  deadline?: Date;
  /** Cancels the call. Defaults to the signal of the incoming call being handled, if any. */
  signal?: AbortSignal;
}

/** A method that throws instead of calling back (a channel that cannot be built) fails the call like any error. */
function thrownAsServiceError(error: unknown): ServiceError {
  const message = error instanceof Error ? error.message : String(error);
  return Object.assign(new Error(`${status.INTERNAL} INTERNAL: ${message}`), { code: status.INTERNAL, details: message, metadata: new Metadata() });
}

/** Makes `cancel` run when `signal` aborts, or else when the incoming call being handled is cancelled; returns what undoes that. */
function linkCancellation(signal: AbortSignal | undefined, caller: CallContext | undefined, cancel: () => void): (() => void) | undefined {
  // The incoming call's own listener, without the AbortController its signal would make.
  if (!signal && caller instanceof IncomingCallContext) return caller.onCancel(cancel);
  signal ??= caller?.signal;
  if (!signal) return undefined;
  if (signal.aborted) {
    cancel();
    return undefined;
  }
  signal.addEventListener('abort', cancel, { once: true });
  return () => signal.removeEventListener('abort', cancel);
}

/**
 * Promise form of a generated client's unary method: `callUnary(users.getUser.bind(users), { id })`.
 * Inside a handler the call is cancelled when the handler's own caller goes away. It settles once
 * and never throws: grpc-js may call back before the method returns, or call back and then throw.
 */
export function callUnary<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, options: UnaryCallOptions = {}): Promise<Res> {
  const caller = options.signal ? undefined : activeCallContext();
  return new Promise<Res>((resolve, reject) => {
    let call: ClientUnaryCall | undefined;
    let settled = false;
    let unlink: (() => void) | undefined;
    const settle = (error: ServiceError | null, response?: Res) => {
      if (settled) return;
      settled = true;
      unlink?.();
      if (error) reject(error);
      else resolve(response as Res);
    };
    const callOptions: Partial<CallOptions> = options.deadline ? { deadline: options.deadline } : {};
    try {
      call = method(request, options.metadata ?? new Metadata(), callOptions, settle);
    } catch (error) {
      settle(thrownAsServiceError(error));
      return;
    }
    if (!settled) unlink = linkCancellation(options.signal, caller, () => call?.cancel());
  });
}
