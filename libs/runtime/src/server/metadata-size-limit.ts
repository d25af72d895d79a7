import { status as Status, type Metadata, type sendUnaryData, type ServerDuplexStream, type ServerUnaryCall, type UntypedHandleCall } from '@grpc/grpc-js';

// HTTP/2 counts each header as its name, its value and 32 bytes of overhead (RFC 7540, 6.5.2).
const HEADER_OVERHEAD = 32;

/** The base64 length of `bytes` bytes, padded, as grpc-js sends a binary (`-bin`) value. */
function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/** The request metadata's size as HTTP/2 counts it; binary values as sent, in base64. */
export function metadataBytes(metadata: Metadata): number {
  let bytes = 0;
  // Read in place: this runs on every call, and toJSON() hands out the values without copying them.
  const entries = metadata.toJSON();
  for (const key in entries) {
    if (key.startsWith(':')) continue;
    for (const value of entries[key]) bytes += key.length + (typeof value === 'string' ? value.length : base64Length(value.length)) + HEADER_OVERHEAD;
  }
  return bytes;
}

/**
 * `handler` refusing a call whose request metadata is larger than `maxBytes` with
 * RESOURCE_EXHAUSTED naming the limit, before the handler (and so any middleware) runs. Node's
 * HTTP/2 layer still caps headers at 64 KiB by itself (the stream is reset with ENHANCE_YOUR_CALM);
 * this sets the lower, stated limit. It wraps the handler rather than adding a grpc-js server
 * interceptor: an interceptor puts another layer under every event of every call.
 */
export function limitMetadataSize(handler: UntypedHandleCall, type: string, maxBytes: number): UntypedHandleCall {
  const refusal = (metadata: Metadata) => {
    const bytes = metadataBytes(metadata);
    if (bytes <= maxBytes) return undefined;
    return { code: Status.RESOURCE_EXHAUSTED, details: `request metadata of ${bytes} bytes exceeds the limit of ${maxBytes} bytes (GRPC_MAX_METADATA_BYTES)` };
  };
  if (type === 'unary' || type === 'clientStream') {
    const answering = handler as (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => void;
    return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      const refused = refusal(call.metadata);
      if (refused) callback(refused);
      else answering(call, callback);
    };
  }
  const streaming = handler as (call: ServerDuplexStream<unknown, unknown>) => void;
  return (call: ServerDuplexStream<unknown, unknown>) => {
    const refused = refusal(call.metadata);
    // grpc-js's streaming calls answer an 'error' event with its status and end the call.
    if (refused) call.emit('error', refused);
    else streaming(call);
  };
}
