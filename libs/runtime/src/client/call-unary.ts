import { Metadata, type CallOptions, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
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

/**
 * Promise form of a generated client's unary method: `callUnary(users.getUser.bind(users), { id })`.
 * Inside a handler the call is cancelled when the handler's own caller goes away.
 */
export function callUnary<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, options: UnaryCallOptions = {}): Promise<Res> {
  const signal = options.signal ?? activeCallContext()?.signal;
  return new Promise<Res>((resolve, reject) => {
    const callOptions: Partial<CallOptions> = options.deadline ? { deadline: options.deadline } : {};
    const call = method(request, options.metadata ?? new Metadata(), callOptions, (error, response) => {
      signal?.removeEventListener('abort', cancel);
      if (error) reject(error);
      else resolve(response);
    });
    const cancel = () => call.cancel();
    if (signal?.aborted) cancel();
    else signal?.addEventListener('abort', cancel, { once: true });
  });
}
