import { Metadata, status as Status, type ChannelInterface, type InterceptingListener, type InterceptorOptions, type StatusObject } from '@grpc/grpc-js';
import type { InterceptingCallInterface } from './forwarding-call';

type MessageContext = Parameters<InterceptingCallInterface['sendMessageWithContext']>[0];

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// How grpc-js (1.14) words the end of a call whose connection the server closed with an HTTP/2
// error (a GOAWAY: Node's rapid-reset defence, a server stopping hard), which it reports INTERNAL.
const SESSION_CLOSED = /triggered by internal client error: Session closed with error code \d+$/;

/**
 * A lost connection is UNAVAILABLE, as gRPC's C core and grpc-js itself (for a reset or timed-out
 * socket) report it: retries then treat it as the transient failure it is.
 */
function asTransportStatus(status: StatusObject): StatusObject {
  return status.code === Status.INTERNAL && SESSION_CLOSED.test(status.details) ? { ...status, code: Status.UNAVAILABLE } : status;
}

/**
 * The innermost call of a unary chain: one call on the channel, its request serialized and its
 * answer deserialized, as grpc-js's own bottom call does, with the same INTERNAL statuses when
 * either fails. It passes at most one message up, fails the call UNIMPLEMENTED on a second,
 * and does not stand in a null for a missing one: the caller's layer turns an OK without a
 * message into UNIMPLEMENTED. A call lost with its connection ends UNAVAILABLE, not INTERNAL.
 */
export class ChannelCall implements InterceptingCallInterface {
  private readonly call: ReturnType<ChannelInterface['createCall']>;

  constructor(
    channel: ChannelInterface,
    private readonly options: InterceptorOptions,
  ) {
    const { path } = options.method_definition;
    this.call = channel.createCall(path, options.deadline ?? Infinity, options.host, options.parent ?? null, options.propagate_flags);
    if (options.credentials) this.call.setCredentials(options.credentials);
  }

  start(metadata: Metadata, listener?: Partial<InterceptingListener>): void {
    const { responseDeserialize } = this.options.method_definition;
    let readError: StatusObject | undefined;
    let messages = 0;
    const fail = (code: Status, details: string) => {
      readError = { code, details, metadata: new Metadata() };
      this.call.cancelWithStatus(code, details);
    };
    this.call.start(metadata, {
      onReceiveMetadata: (received: Metadata) => listener?.onReceiveMetadata?.(received),
      onReceiveMessage: (bytes: Buffer) => {
        if (++messages > 1) return fail(Status.UNIMPLEMENTED, 'Too many responses received');
        let message: unknown;
        try {
          message = responseDeserialize(bytes);
        } catch (error) {
          return fail(Status.INTERNAL, `Response message parsing error: ${errorMessage(error)}`);
        }
        listener?.onReceiveMessage?.(message);
        // Read on, so that a second message fails the call instead of holding its status back.
        this.call.startRead();
      },
      onReceiveStatus: (status: StatusObject) => listener?.onReceiveStatus?.(readError ?? asTransportStatus(status)),
    });
    this.call.startRead();
  }

  sendMessageWithContext(context: MessageContext, message: unknown): void {
    let bytes: Buffer;
    try {
      bytes = this.options.method_definition.requestSerialize(message);
    } catch (error) {
      this.call.cancelWithStatus(Status.INTERNAL, `Request message serialization failure: ${errorMessage(error)}`);
      return;
    }
    this.call.sendMessageWithContext(context, bytes);
  }

  sendMessage(message: unknown): void {
    this.sendMessageWithContext({}, message);
  }

  // A unary answer is read from the start.
  startRead(): void {}

  halfClose(): void {
    this.call.halfClose();
  }

  cancelWithStatus(code: Status, details: string): void {
    this.call.cancelWithStatus(code, details);
  }

  getPeer(): string {
    return this.call.getPeer();
  }

  getAuthContext(): ReturnType<InterceptingCallInterface['getAuthContext']> {
    return this.call.getAuthContext();
  }
}
