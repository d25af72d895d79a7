import { AsyncLocalStorage } from 'node:async_hooks';
import type { Metadata } from '@grpc/grpc-js';
import type { PeerIdentity } from '../security/peer-identity';

/** What a handler knows about the call it serves. */
export interface CallContext {
  /** Full method path, e.g. `/switchyard.user.v1.UserService/GetUser`. */
  readonly method: string;
  readonly metadata: Metadata;
  readonly peer: string;
  /**
   * Who the client is by its certificate, under mutual TLS (TLS_CERT, TLS_KEY, TLS_CA): the SAN
   * DNS names and CN of a certificate the server verified. undefined over plaintext.
   */
  readonly peerIdentity: PeerIdentity | undefined;
  /** Absolute deadline in ms since the epoch, or undefined when the caller set none. */
  readonly deadline: number | undefined;
  /** Aborted when the caller cancels or the deadline passes: stop work, write nothing more. */
  readonly signal: AbortSignal;
}

// The incoming call of the handler that is running, so that outgoing calls made inside it
// inherit its remaining deadline without every function passing it along.
const currentCall = new AsyncLocalStorage<CallContext>();

export function runInCallContext<T>(context: CallContext, work: () => T): T {
  return currentCall.run(context, work);
}

/** The incoming call being handled, when there is one. */
export function activeCallContext(): CallContext | undefined {
  return currentCall.getStore();
}
