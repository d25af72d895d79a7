import { Metadata, status, type CallOptions, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { activeCallContext } from '../server/call-context';

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

/**
 * Promise form of a generated client's unary method: `callUnary(users.getUser.bind(users), { id })`.
 * Inside a handler the call is cancelled when the handler's own caller goes away. It settles once
 * and never throws: grpc-js may call back before the method returns, or call back and then throw.
 */
export function callUnary<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, options: UnaryCallOptions = {}): Promise<Res> {
  const signal = options.signal ?? activeCallContext()?.signal;
  return new Promise<Res>((resolve, reject) => {
    let call: ClientUnaryCall | undefined;
    let settled = false;
    const cancel = () => call?.cancel();
    const settle = (error: ServiceError | null, response?: Res) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', cancel);
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
    if (settled) return;
    if (signal?.aborted) cancel();
    else signal?.addEventListener('abort', cancel, { once: true });
  });
}
