import * as grpc from '@grpc/grpc-js';
import { Root, type Type } from 'protobufjs';

export type AttributeValue = string | number | boolean | Buffer | AttributeValue[] | { [key: string]: AttributeValue } | null;

/** One span as an OTLP exporter sent it, flattened for assertions. */
export interface ReceivedSpan {
  /** Lowercase hex, 32 characters. */
  traceId: string;
  /** Lowercase hex, 16 characters. */
  spanId: string;
  /** Lowercase hex, or '' for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind on the wire: 1 INTERNAL, 2 SERVER, 3 CLIENT, 4 PRODUCER, 5 CONSUMER (not the API enum's numbers). */
  kind: number;
  kindName: 'UNSPECIFIED' | 'INTERNAL' | 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER';
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Record<string, AttributeValue>;
  /** code: 0 UNSET, 1 OK, 2 ERROR. */
  status: { code: number; message: string };
  events: { name: string; attributes: Record<string, AttributeValue> }[];
  /** Resource attributes: service.name, service.instance.id, ... */
  resource: Record<string, AttributeValue>;
  scope: { name: string; version: string };
}

export interface OtlpReceiver {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT or the exporter's `url`: `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** Every span received so far, in arrival order. */
  spans: ReceivedSpan[];
  /** Resolves with all spans once `predicate(spans)` holds; rejects after `timeoutMs` (default 5000). */
  waitForSpans(predicate: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  stop(): Promise<void>;
}

const KIND_NAMES: ReceivedSpan['kindName'][] = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

// The fields of opentelemetry-proto's ExportTraceServiceRequest that assertions need. Unlisted
// fields (links, dropped counts, flags) are skipped by the decoder. @opentelemetry/otlp-transformer
// only ships request serializers and response deserializers, so there is no request decoder to reuse.
const field = (type: string, id: number, rule?: 'repeated') => ({ type, id, ...(rule ? { rule } : {}) });
const OTLP_TRACE = Root.fromJSON({
  nested: {
    otlp: {
      nested: {
        ExportTraceServiceRequest: { fields: { resourceSpans: field('ResourceSpans', 1, 'repeated') } },
        ResourceSpans: { fields: { resource: field('Resource', 1), scopeSpans: field('ScopeSpans', 2, 'repeated') } },
        Resource: { fields: { attributes: field('KeyValue', 1, 'repeated') } },
        ScopeSpans: { fields: { scope: field('InstrumentationScope', 1), spans: field('Span', 2, 'repeated') } },
        InstrumentationScope: { fields: { name: field('string', 1), version: field('string', 2) } },
        Span: {
          fields: {
            traceId: field('bytes', 1),
            spanId: field('bytes', 2),
            parentSpanId: field('bytes', 4),
            name: field('string', 5),
            kind: field('int32', 6),
            startTimeUnixNano: field('fixed64', 7),
            endTimeUnixNano: field('fixed64', 8),
            attributes: field('KeyValue', 9, 'repeated'),
            events: field('Event', 11, 'repeated'),
            status: field('Status', 15),
          },
        },
        Event: { fields: { name: field('string', 2), attributes: field('KeyValue', 3, 'repeated') } },
        Status: { fields: { message: field('string', 2), code: field('int32', 3) } },
        KeyValue: { fields: { key: field('string', 1), value: field('AnyValue', 2) } },
        AnyValue: {
          oneofs: { value: { oneof: ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'] } },
          fields: {
            stringValue: field('string', 1),
            boolValue: field('bool', 2),
            intValue: field('int64', 3),
            doubleValue: field('double', 4),
            arrayValue: field('ArrayValue', 5),
            kvlistValue: field('KeyValueList', 6),
            bytesValue: field('bytes', 7),
          },
        },
        ArrayValue: { fields: { values: field('AnyValue', 1, 'repeated') } },
        KeyValueList: { fields: { values: field('KeyValue', 1, 'repeated') } },
      },
    },
  },
});
const ExportTraceServiceRequest: Type = OTLP_TRACE.lookupType('otlp.ExportTraceServiceRequest');

interface WireAnyValue {
  value?: keyof WireAnyValue;
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values?: WireAnyValue[] };
  kvlistValue?: { values?: WireKeyValue[] };
  bytesValue?: Buffer;
}
interface WireKeyValue {
  key: string;
  value?: WireAnyValue;
}
interface WireSpan {
  traceId?: Buffer;
  spanId?: Buffer;
  parentSpanId?: Buffer;
  name?: string;
  kind?: number;
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes?: WireKeyValue[];
  events?: { name?: string; attributes?: WireKeyValue[] }[];
  status?: { message?: string; code?: number };
}
interface WireRequest {
  resourceSpans?: {
    resource?: { attributes?: WireKeyValue[] };
    scopeSpans?: { scope?: { name?: string; version?: string }; spans?: WireSpan[] }[];
  }[];
}

function attributeValue(value: WireAnyValue | undefined): AttributeValue {
  switch (value?.value) {
    case 'stringValue':
      return value.stringValue ?? '';
    case 'boolValue':
      return value.boolValue ?? false;
    case 'intValue':
      return Number(value.intValue);
    case 'doubleValue':
      return value.doubleValue ?? 0;
    case 'bytesValue':
      return value.bytesValue ?? Buffer.alloc(0);
    case 'arrayValue':
      return (value.arrayValue?.values ?? []).map(attributeValue);
    case 'kvlistValue':
      return attributes(value.kvlistValue?.values);
    default:
      return null;
  }
}

function attributes(list: WireKeyValue[] | undefined): Record<string, AttributeValue> {
  return Object.fromEntries((list ?? []).map((entry) => [entry.key, attributeValue(entry.value)]));
}

const hex = (bytes: Buffer | undefined) => (bytes ? Buffer.from(bytes).toString('hex') : '');

function receivedSpans(bytes: Buffer): ReceivedSpan[] {
  const request = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(bytes), { longs: String, oneofs: true }) as WireRequest;
  return (request.resourceSpans ?? []).flatMap((resourceSpans) => {
    const resource = attributes(resourceSpans.resource?.attributes);
    return (resourceSpans.scopeSpans ?? []).flatMap((scopeSpans) =>
      (scopeSpans.spans ?? []).map((span) => ({
        traceId: hex(span.traceId),
        spanId: hex(span.spanId),
        parentSpanId: hex(span.parentSpanId),
        name: span.name ?? '',
        kind: span.kind ?? 0,
        kindName: KIND_NAMES[span.kind ?? 0] ?? 'UNSPECIFIED',
        startTimeUnixNano: BigInt(span.startTimeUnixNano ?? 0),
        endTimeUnixNano: BigInt(span.endTimeUnixNano ?? 0),
        attributes: attributes(span.attributes),
        status: { code: span.status?.code ?? 0, message: span.status?.message ?? '' },
        events: (span.events ?? []).map((event) => ({ name: event.name ?? '', attributes: attributes(event.attributes) })),
        resource,
        scope: { name: scopeSpans.scope?.name ?? '', version: scopeSpans.scope?.version ?? '' },
      })),
    );
  });
}

/** An in-process OTLP/gRPC trace collector on 127.0.0.1 (ephemeral port) that keeps what it receives. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const listeners = new Set<() => void>();
  const server = new grpc.Server();
  const exportMethod: grpc.MethodDefinition<ReceivedSpan[], Record<string, never>> = {
    path: EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: () => Buffer.alloc(0),
    requestDeserialize: receivedSpans,
    // An empty ExportTraceServiceResponse: no partial_success means all accepted.
    responseSerialize: () => Buffer.alloc(0),
    responseDeserialize: () => ({}),
  };
  server.addService({ Export: exportMethod } as grpc.ServiceDefinition, {
    Export: (call: grpc.ServerUnaryCall<ReceivedSpan[], Record<string, never>>, callback: grpc.sendUnaryData<Record<string, never>>) => {
      spans.push(...call.request);
      for (const listener of listeners) listener();
      callback(null, {});
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );

  const waitForSpans = (predicate: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs = 5000): Promise<ReceivedSpan[]> =>
    new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate(spans)) return;
        cleanup();
        resolve([...spans]);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`OTLP receiver: condition not met in ${timeoutMs} ms; received ${spans.length} span(s): ${spans.map((span) => span.name).join(', ')}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });

  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    waitForSpans,
    stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}
