import type { InterceptingCall, InterceptingListener, Metadata, StatusObject, status as Status } from '@grpc/grpc-js';

/** What grpc-js calls on the call an interceptor returns (its InterceptingCallInterface). */
export type InterceptingCallInterface = ConstructorParameters<typeof InterceptingCall>[0];
type MessageContext = Parameters<InterceptingCallInterface['sendMessageWithContext']>[0];

/**
 * An interceptor's result that is not a grpc-js InterceptingCall. The Interceptor type asks for
 * that class, but grpc-js only calls the InterceptingCallInterface methods on what an interceptor
 * returns, so an inner call, a ForwardingCall or a MultiAttemptCall serves as well, without the
 * listener wrappers and closures an InterceptingCall allocates on every call.
 */
export function asInterceptorResult(call: InterceptingCallInterface): InterceptingCall {
  return call as InterceptingCall;
}

/**
 * A call that passes everything on to the next one, for interceptors that change only some of it
 * (grpc-java's ForwardingClientCall). Unlike InterceptingCall it defers nothing: its start must
 * start the next call before it returns.
 */
export class ForwardingCall implements InterceptingCallInterface {
  constructor(protected readonly next: InterceptingCallInterface) {}

  start(metadata: Metadata, listener?: Partial<InterceptingListener>): void {
    this.next.start(metadata, listener);
  }

  sendMessageWithContext(context: MessageContext, message: unknown): void {
    this.next.sendMessageWithContext(context, message);
  }

  sendMessage(message: unknown): void {
    this.next.sendMessage(message);
  }

  startRead(): void {
    this.next.startRead();
  }

  halfClose(): void {
    this.next.halfClose();
  }

  cancelWithStatus(code: Status, details: string): void {
    this.next.cancelWithStatus(code, details);
  }

  getPeer(): string {
    return this.next.getPeer();
  }

  getAuthContext(): ReturnType<InterceptingCallInterface['getAuthContext']> {
    return this.next.getAuthContext();
  }
}

/** A listener that passes everything on to the caller's listener, for those that watch only some of it. */
export class ForwardingListener implements InterceptingListener {
  constructor(protected readonly next: Partial<InterceptingListener> | undefined) {}

  onReceiveMetadata(metadata: Metadata): void {
    this.next?.onReceiveMetadata?.(metadata);
  }

  onReceiveMessage(message: unknown): void {
    this.next?.onReceiveMessage?.(message);
  }

  onReceiveStatus(status: StatusObject): void {
    this.next?.onReceiveStatus?.(status);
  }
}
