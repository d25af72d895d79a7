import { InterceptingCall, Metadata, status as Status, type Deadline, type Interceptor, type InterceptingListener } from '@grpc/grpc-js';
import { activeCallContext } from '../server/call-context';
import { asInterceptorResult } from './forwarding-call';

export interface DeadlineOptions {
  /** Deadline for a call whose caller set none. */
  defaultTimeoutMs: number;
  /**
   * Kept back from an inherited budget so the handler has time to answer its own caller after
   * the outgoing call fails. Default 5 ms.
   */
  marginMs?: number;
}

// A call that ends with DEADLINE_EXCEEDED as soon as it starts, without a channel or a socket.
function spentBudgetCall(details: string): ConstructorParameters<typeof InterceptingCall>[0] {
  return {
    start(_metadata: Metadata, listener?: Partial<InterceptingListener>) {
      setImmediate(() => listener?.onReceiveStatus?.({ code: Status.DEADLINE_EXCEEDED, details, metadata: new Metadata() }));
    },
    sendMessageWithContext() {},
    sendMessage() {},
    startRead() {},
    halfClose() {},
    cancelWithStatus() {},
    getPeer: () => '',
    getAuthContext: () => null,
  } as unknown as ConstructorParameters<typeof InterceptingCall>[0];
}

function toMillis(deadline: Deadline): number {
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

/**
 * Gives every call a deadline: the caller's, else the default; inside a handler, never later than
 * the incoming call's own deadline (less a margin), so budgets shrink hop by hop. A call whose
 * budget is already spent fails at once with DEADLINE_EXCEEDED and never reaches the network.
 */
export function deadlineInterceptor({ defaultTimeoutMs, marginMs = 5 }: DeadlineOptions): Interceptor {
  return (options, nextCall) => {
    const now = Date.now();
    let deadline = options.deadline === undefined ? now + defaultTimeoutMs : toMillis(options.deadline);
    const inherited = activeCallContext()?.deadline;
    if (inherited !== undefined) deadline = Math.min(deadline, inherited - marginMs);
    if (deadline <= now) {
      return new InterceptingCall(spentBudgetCall(`${options.method_definition.path}: the caller's deadline has already passed`));
    }
    // The inner call itself: this interceptor changes only the options, and a pass-through layer
    // would cost every call its listener objects.
    return asInterceptorResult(nextCall({ ...options, deadline }));
  };
}
