import { fromBinary, toBinary, toJson, type FileRegistry } from '@bufbuild/protobuf';
import { Metadata, status as Status } from '@grpc/grpc-js';
import { context } from '@opentelemetry/api';
import { DomainError, isStatusError, type Logger, type StatusError } from '@switchyard/runtime';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { bearerChallenge } from './bearer-challenge';
import type { HttpRoute } from './http-rules';
import { startHttpSpan, type HttpSpan } from './http-tracing';
import type { GrpcInvoker } from './loopback-invoker';
import { PROBLEM_CONTENT_TYPE, grpcProblem, httpProblem, type Problem } from './problem-details';
import { bindRequest } from './request-binding';

export interface HttpFaceOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Largest request body accepted, in bytes; a larger one is 413. */
  bodyLimitBytes: number;
  routes: readonly HttpRoute[];
  registry: FileRegistry;
  invoke: GrpcInvoker;
  /** HTTP headers passed on as call metadata besides `authorization`, e.g. the canary header. Default none. */
  forwardedHeaders?: readonly string[];
  /** What a caller may see of a failure (edge-errors.ts). */
  toEdgeError: (error: unknown) => StatusError;
  /** Served at /openapi.json. */
  openApi: object;
  logger: Logger;
  /** Names the HTTP client's address in the call's metadata, for the gateway's rate limits. */
  stampClientAddress?: (metadata: Metadata, address: string) => void;
}

export interface HttpFace {
  port: number;
  /** Stops taking requests and waits for those in flight. */
  close(): Promise<void>;
}

const REQUEST_TIMEOUT_MS = 30_000;

/** HTTP headers that become metadata of the gRPC call, for middleware that reads them (auth). */
const FORWARDED_HEADERS = ['authorization'] as const;

/** Trailing metadata of a rate-limited call that a 429 carries as headers. */
const RATE_LIMIT_HEADERS = ['retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'] as const;

function addRateLimitHeaders(reply: FastifyReply, error: unknown): void {
  if (!isStatusError(error) || error.code !== Status.RESOURCE_EXHAUSTED) return;
  for (const header of RATE_LIMIT_HEADERS) {
    const [value] = error.metadata.get(header);
    if (typeof value === 'string') reply.header(header, value);
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    httpSpan: HttpSpan;
  }
}

function sendProblem(reply: FastifyReply, problem: Problem, span: HttpSpan | undefined): FastifyReply {
  const body = span?.traceId ? { ...problem, traceId: span.traceId } : problem;
  if (problem.status === 401) reply.header('www-authenticate', bearerChallenge(problem.detail, reply.request.headers.authorization !== undefined));
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(body);
}

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** The route of `path` and `verb`; or the verbs that path does take (405), or nothing (404). */
function findRoute(routes: readonly HttpRoute[], verb: string, path: string): { route: HttpRoute; bindings: Record<string, string> } | { allowed: string[] } {
  const allowed = new Set<string>();
  for (const route of routes) {
    const bindings = route.template.match(path);
    if (!bindings) continue;
    if (route.verb === verb) return { route, bindings };
    allowed.add(route.verb);
  }
  return { allowed: [...allowed] };
}

/**
 * The gateway's HTTP/JSON face (Fastify): the routes of the google.api.http rules, each call
 * made through the gateway's gRPC methods by `invoke`, answers in proto3 JSON, failures as
 * RFC 9457 problem+json. Each request is a SERVER span continuing the caller's traceparent, and
 * the `traceresponse` header names it.
 */
export async function startHttpFace(options: HttpFaceOptions): Promise<HttpFace> {
  const forwardedHeaders = [...new Set([...FORWARDED_HEADERS, ...(options.forwardedHeaders ?? [])].map((header) => header.toLowerCase()))];
  const { routes, registry, logger } = options;
  const app: FastifyInstance = Fastify({
    bodyLimit: options.bodyLimitBytes,
    // Fastify turns Node's request timeout off; a client that trickles its request in (slowloris)
    // would hold its socket for ever. Far above any call's deadline.
    requestTimeout: REQUEST_TIMEOUT_MS,
    logger: false,
    return503OnClosing: true,
  });

  // Our own JSON reader, so a malformed body is a 400 problem that says so.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') return done(null, undefined);
    try {
      done(null, JSON.parse(body as string));
    } catch (error) {
      done(Object.assign(new Error(`the request body is not valid JSON (${(error as Error).message})`), { statusCode: 400 }), undefined);
    }
  });

  app.decorateRequest('httpSpan', undefined as unknown as HttpSpan);
  app.addHook('onRequest', async (request) => {
    request.httpSpan = startHttpSpan({
      method: request.method,
      path: pathOf(request.url),
      headers: request.headers,
      clientAddress: request.ip,
      serverPort: request.socket.localPort,
      httpVersion: request.raw.httpVersion,
    });
  });
  app.addHook('onSend', async (request, reply) => {
    if (request.httpSpan?.traceresponse) reply.header('traceresponse', request.httpSpan.traceresponse);
  });
  app.addHook('onResponse', async (request, reply) => {
    request.httpSpan?.end(reply.statusCode);
  });

  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      logger.error({ err: error, method: request.method, path: pathOf(request.url) }, 'HTTP request failed');
      return sendProblem(reply, httpProblem(500, 'INTERNAL', 'internal error'), request.httpSpan);
    }
    const code = status === 413 ? 'RESOURCE_EXHAUSTED' : 'INVALID_ARGUMENT';
    const detail = status === 413 ? `the request body is larger than the limit of ${options.bodyLimitBytes} bytes (HTTP_BODY_LIMIT_BYTES)` : error.message;
    return sendProblem(reply, httpProblem(status, code, detail), request.httpSpan);
  });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, httpProblem(404, 'NOT_FOUND', `no route for ${request.method} ${pathOf(request.url)}`), request.httpSpan));

  const openApiBody = JSON.stringify(options.openApi);
  app.get('/openapi.json', async (request, reply) => {
    request.httpSpan.setRoute('GET', '/openapi.json');
    return reply.type('application/json').send(openApiBody);
  });

  app.all('/*', (request: FastifyRequest, reply: FastifyReply) => {
    const span = request.httpSpan;
    const path = pathOf(request.url);
    const found = findRoute(routes, request.method, path);
    if ('allowed' in found) {
      if (found.allowed.length === 0) return sendProblem(reply, httpProblem(404, 'NOT_FOUND', `no route for ${request.method} ${path}`), span);
      reply.header('allow', found.allowed.join(', '));
      return sendProblem(reply, httpProblem(405, 'UNIMPLEMENTED', `${path} takes ${found.allowed.join(', ')}, not ${request.method}`), span);
    }
    const { route, bindings } = found;
    span.setRoute(route.verb, route.template.source);
    return context.with(span.context, async () => {
      try {
        const message = bindRequest(route, { bindings, query: request.query as Record<string, string | string[]>, body: request.body }, registry);
        const metadata = new Metadata();
        for (const header of forwardedHeaders) {
          const value = request.headers[header];
          if (typeof value === 'string') metadata.set(header, value);
        }
        options.stampClientAddress?.(metadata, request.ip);
        // Cancels the gRPC call when the HTTP client goes away before the answer.
        const abandoned = new AbortController();
        // (The response's close, not the request's: that one fires once the body has been read.)
        const onClose = () => !reply.raw.writableEnded && abandoned.abort();
        reply.raw.once('close', onClose);
        const answer = await options.invoke(route.grpcPath, toBinary(route.method.input, message), metadata, abandoned.signal).finally(() => reply.raw.off('close', onClose));
        const json = toJson(route.method.output, fromBinary(route.method.output, answer), { registry, alwaysEmitImplicit: true });
        return reply.type('application/json').send(json);
      } catch (error) {
        // A fault of this layer (not a status the gRPC call answered with) is logged here.
        if (!isStatusError(error) && !(error instanceof DomainError)) logger.error({ err: error, route: route.template.source }, 'HTTP call failed');
        addRateLimitHeaders(reply, error);
        return sendProblem(reply, grpcProblem(options.toEdgeError(error)), span);
      }
    });
  });

  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return { port, close: () => app.close() };
}
