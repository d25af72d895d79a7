import type { Deadline, Metadata, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import { peerIdentityOf, type PeerIdentity } from '../security/peer-identity';
import type { CallContext } from './call-context';

const noLink = () => undefined;

export type IncomingCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;

function deadlineMillis(deadline: Deadline): number | undefined {
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * The handler's view of one incoming call. Its signal fires when the client cancels or the
 * deadline passes (grpc-js ends the call at its deadline and emits `cancelled`, so no timer of
 * our own is needed). The signal, and the listener behind it, exist only once someone asks for
 * them: most handlers never do, and an AbortController per call is a measurable share of a
 * small call's CPU.
 */
export class IncomingCallContext implements CallContext {
  readonly metadata: Metadata;
  readonly peer: string;
  readonly deadline: number | undefined;
  private identity: PeerIdentity | undefined | null = null;
  private controller: AbortController | undefined;
  private released = false;
  private onCancelled: (() => void) | undefined;

  constructor(
    private readonly call: IncomingCall,
    readonly method: string,
  ) {
    this.metadata = call.metadata;
    // Read now: once the client has gone, its socket may be too.
    this.peer = call.getPeer();
    this.deadline = deadlineMillis(call.getDeadline());
  }

  // Read on first use: most handlers never ask, and parsing a certificate on every call costs.
  // Read after the client has gone, it is undefined: a check on it fails closed.
  get peerIdentity(): PeerIdentity | undefined {
    if (this.identity === null) this.identity = peerIdentityOf(this.call);
    return this.identity;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = (this.controller = new AbortController());
      const onCancelled = () => controller.abort(new Error('call cancelled by the client or its deadline'));
      // After release the call has answered: nothing is left to cancel.
      if (this.released) return controller.signal;
      if (this.call.cancelled) onCancelled();
      else this.call.once('cancelled', (this.onCancelled = onCancelled));
    }
    return this.controller.signal;
  }

  /**
   * Calls `listener` once if the client cancels or the deadline passes before the call is
   * answered, at once if that has already happened; returns a function that stops listening.
   * callUnary links the calls a handler makes to its own this way: one listener on the grpc-js
   * call, where `signal` needs an AbortController and its event listeners.
   */
  onCancel(listener: () => void): () => void {
    if (this.released) return noLink;
    if (this.call.cancelled) {
      listener();
      return noLink;
    }
    // grpc-js also emits 'cancelled' after a call it answered: only a cancel before then counts.
    const onCancelled = () => void (this.released || listener());
    this.call.once('cancelled', onCancelled);
    return () => void this.call.removeListener('cancelled', onCancelled);
  }

  /** The call has been answered: stop listening for its cancellation (grpc-js emits one after every call). */
  release(): void {
    this.released = true;
    if (this.onCancelled) this.call.removeListener('cancelled', this.onCancelled);
  }
}
