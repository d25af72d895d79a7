import { Metadata, ServerInterceptingCall, ServerListenerBuilder, ResponderBuilder, status as Status, type ServerInterceptor } from '@grpc/grpc-js';

// HTTP/2 counts each header as its name, its value and 32 bytes of overhead (RFC 7540, 6.5.2).
const HEADER_OVERHEAD = 32;

/** The request metadata's size as HTTP/2 counts it; binary values as sent, in base64. */
export function metadataBytes(metadata: Metadata): number {
  let bytes = 0;
  for (const [key, values] of Object.entries(metadata.toHttp2Headers())) {
    for (const value of Array.isArray(values) ? values : [values]) bytes += key.length + String(value).length + HEADER_OVERHEAD;
  }
  return bytes;
}

/**
 * Refuses a call whose request metadata is larger than `maxBytes` with RESOURCE_EXHAUSTED naming
 * the limit, before any handler or middleware sees it. Node's HTTP/2 layer still caps headers at
 * 64 KiB by itself (the stream is reset with ENHANCE_YOUR_CALM); this sets the lower, stated limit.
 */
export function metadataSizeInterceptor(maxBytes: number): ServerInterceptor {
  return (_method, call) =>
    new ServerInterceptingCall(
      call,
      new ResponderBuilder()
        .withStart((next) =>
          next(
            new ServerListenerBuilder()
              .withOnReceiveMetadata((metadata, nextMetadata) => {
                const bytes = metadataBytes(metadata);
                if (bytes <= maxBytes) return nextMetadata(metadata);
                call.sendStatus({
                  code: Status.RESOURCE_EXHAUSTED,
                  details: `request metadata of ${bytes} bytes exceeds the limit of ${maxBytes} bytes (GRPC_MAX_METADATA_BYTES)`,
                });
              })
              .build(),
          ),
        )
        .build(),
    );
}
