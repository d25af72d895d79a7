import { fromBinary, ScalarType, type DescMessage } from '@bufbuild/protobuf';
import { descriptorSetBase64 } from '@switchyard/proto';
import { InvalidArgumentError, type FieldViolation } from '../errors/domain-errors';
import { descriptorRegistry } from '../reflection/descriptor-registry';
import type { MethodDefinitionLike } from './service-handlers';

/**
 * What a request that failed to decode becomes. grpc-js answers a throwing deserializer itself
 * with INTERNAL before any middleware runs (no log line, no span, and INTERNAL ejects instances);
 * this marker reaches the handler instead, whose wrapper throws its error inside the middleware.
 */
export class UndecodableRequest {
  constructor(readonly error: InvalidArgumentError) {}
}

/** `handler`, throwing the INVALID_ARGUMENT of a request that did not decode instead of running. */
export function rejectingUndecodable<Handler extends (request: unknown, context: never) => Promise<unknown>>(handler: Handler): Handler {
  return ((request: unknown, context: never) => {
    if (request instanceof UndecodableRequest) throw request.error;
    return handler(request, context);
  }) as Handler;
}

/** Field name used when the bytes are not a message at all, so no single field is to blame. */
const WHOLE_REQUEST_FIELD = 'request';

/** `definition` with each method's deserializer answering an UndecodableRequest instead of throwing. */
export function deferDecodingErrors<Definition extends Record<string, MethodDefinitionLike<unknown, unknown>>>(definition: Definition): Definition {
  const wrapped: Record<string, MethodDefinitionLike<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition)) {
    wrapped[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return method.requestDeserialize(bytes);
        } catch {
          return new UndecodableRequest(new InvalidArgumentError([describeUndecodable(method.path, bytes)]));
        }
      },
    };
  }
  return wrapped as Definition;
}

function requestType(path: string): DescMessage | undefined {
  const registry = descriptorRegistry(descriptorSetBase64);
  const [, serviceName, methodName] = path.split('/');
  const service = registry.getService(serviceName ?? '');
  return service?.methods.find((method) => method.name === methodName)?.input;
}

/**
 * Which field made the message undecodable. With int64 as JavaScript numbers (buf.gen.yaml's
 * forceLong=number), ts-proto refuses an int64 past 2^53 - 1 without saying which; decoding again
 * with bigints finds it. Bytes that are no message at all blame the whole request.
 */
function describeUndecodable(path: string, bytes: Buffer): FieldViolation {
  const type = requestType(path);
  if (type) {
    try {
      const field = unsafeIntegerField(type, fromBinary(type, bytes) as unknown as Record<string, unknown>, '');
      if (field) return { field, description: `must be from ${Number.MIN_SAFE_INTEGER} to ${Number.MAX_SAFE_INTEGER}` };
    } catch {
      // Not a message of this type: reported below.
    }
  }
  return { field: WHOLE_REQUEST_FIELD, description: `is not a valid ${type?.typeName ?? 'request'} message` };
}

const INT64_TYPES: ReadonlySet<ScalarType> = new Set([ScalarType.INT64, ScalarType.UINT64, ScalarType.SINT64, ScalarType.FIXED64, ScalarType.SFIXED64]);

function isUnsafe(scalar: ScalarType, value: unknown): boolean {
  return INT64_TYPES.has(scalar) && typeof value === 'bigint' && (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER));
}

/** Path (`items[0].unit_price_cents`) of the first int64 in `message` that a number cannot hold. */
function unsafeIntegerField(type: DescMessage, message: Record<string, unknown>, prefix: string): string | undefined {
  for (const field of type.fields) {
    const path = `${prefix}${field.name}`;
    const holder = field.oneof ? (message[field.oneof.localName] as { case?: string; value?: unknown } | undefined) : undefined;
    const value = field.oneof ? (holder?.case === field.localName ? holder.value : undefined) : message[field.localName];
    if (value === undefined) continue;
    let found: string | undefined;
    if (field.fieldKind === 'scalar') {
      found = isUnsafe(field.scalar, value) ? path : undefined;
    } else if (field.fieldKind === 'message') {
      found = unsafeIntegerField(field.message, value as Record<string, unknown>, `${path}.`);
    } else if (field.fieldKind === 'list') {
      const items = value as unknown[];
      for (let index = 0; index < items.length && !found; index++) {
        if (field.listKind === 'scalar') found = isUnsafe(field.scalar, items[index]) ? `${path}[${index}]` : undefined;
        else if (field.listKind === 'message') found = unsafeIntegerField(field.message, items[index] as Record<string, unknown>, `${path}[${index}].`);
      }
    } else if (field.fieldKind === 'map' && field.mapKind === 'scalar') {
      // The map's own path: its keys are the client's text, not fit to echo.
      found = Object.values(value as Record<string, unknown>).some((item) => isUnsafe(field.scalar, item)) ? path : undefined;
    }
    if (found) return found;
  }
  return undefined;
}
