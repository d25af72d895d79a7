import { SpanKind, SpanStatusCode, context, propagation, trace, type Context, type Span } from '@opentelemetry/api';
import type { IncomingHttpHeaders } from 'node:http';

const tracer = trace.getTracer('@switchyard/gateway');

// HTTP semantic conventions (stable names).
const ATTR = {
  method: 'http.request.method',
  route: 'http.route',
  status: 'http.response.status_code',
  scheme: 'url.scheme',
  path: 'url.path',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  clientAddress: 'client.address',
  userAgent: 'user_agent.original',
  protocol: 'network.protocol.version',
} as const;

export interface HttpRequestInfo {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  clientAddress: string | undefined;
  serverPort: number | undefined;
  httpVersion: string;
}

/** The SERVER span of one HTTP request, continuing the caller's W3C trace context when it sent one. */
export interface HttpSpan {
  /** Context to run the request's work in: its gRPC call and log lines join the span. */
  readonly context: Context;
  /** The trace id to show the caller, when the request is traced. */
  readonly traceId: string | undefined;
  /** W3C Trace Context Level 2 `traceresponse` value: this span's trace and id, so a caller can find it. */
  readonly traceresponse: string | undefined;
  setRoute(verb: string, route: string): void;
  end(statusCode: number): void;
}

const headerGetter = {
  keys: (carrier: IncomingHttpHeaders) => Object.keys(carrier),
  get: (carrier: IncomingHttpHeaders, key: string) => carrier[key.toLowerCase()],
};

export function startHttpSpan(request: HttpRequestInfo): HttpSpan {
  const parent = propagation.extract(context.active(), request.headers, headerGetter);
  const span: Span = tracer.startSpan(
    request.method,
    {
      kind: SpanKind.SERVER,
      attributes: {
        [ATTR.method]: request.method,
        [ATTR.scheme]: 'http',
        [ATTR.path]: request.path,
        [ATTR.protocol]: request.httpVersion,
        ...(request.headers.host ? { [ATTR.serverAddress]: request.headers.host.replace(/:\d+$/, '') } : {}),
        ...(request.serverPort !== undefined ? { [ATTR.serverPort]: request.serverPort } : {}),
        ...(request.clientAddress ? { [ATTR.clientAddress]: request.clientAddress } : {}),
        ...(request.headers['user-agent'] ? { [ATTR.userAgent]: request.headers['user-agent'] } : {}),
      },
    },
    parent,
  );
  const spanContext = span.spanContext();
  const traced = trace.isSpanContextValid(spanContext);
  return {
    context: trace.setSpan(parent, span),
    traceId: traced ? spanContext.traceId : undefined,
    traceresponse: traced ? `00-${spanContext.traceId}-${spanContext.spanId}-${spanContext.traceFlags.toString(16).padStart(2, '0')}` : undefined,
    setRoute(verb, route) {
      span.setAttribute(ATTR.route, route);
      span.updateName(`${verb} ${route}`);
    },
    end(statusCode) {
      span.setAttribute(ATTR.status, statusCode);
      // A server span fails on 5xx only: a 4xx is the caller's mistake, answered correctly.
      if (statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    },
  };
}
