import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { descriptorSetBase64, orderV1, userV1 } from '@switchyard/proto';
import {
  AlreadyExistsError,
  FieldViolations,
  NotFoundError,
  createClientFactory,
  defineService,
  idempotentMethodPaths,
  statusError,
  tracingMiddleware,
  type ServerMiddleware,
} from '@switchyard/runtime';
import { startTestServer, type TestServer } from '@switchyard/testing';
import { status as Status } from '@grpc/grpc-js';
import pino from 'pino';
import { toEdgeError } from '../edge-errors';
import { forwardingService } from '../forwarding-service';
import { grpcUpstream } from '../grpc-upstream';
import { PUBLIC_SERVICES } from '../public-services';
import { createGatewayService } from '../user-with-orders';
import { startGatewayHttp } from './gateway-http';
import type { HttpFace } from './http-face';

// Spans in memory, so the test can follow a trace from the HTTP caller to the upstream server.
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(provider);

/** Signals of the call to GetUser("slow"): when it reached the user service, and when it was cancelled there. */
const slow = (() => {
  let arrived!: () => void;
  let cancelled!: () => void;
  return {
    reached: new Promise<void>((resolve) => (arrived = resolve)),
    gone: new Promise<void>((resolve) => (cancelled = resolve)),
    arrived: () => arrived(),
    cancelled: () => cancelled(),
  };
})();

/** user and order as small in-memory services that answer the way the real ones do. */
function fakeUpstreams() {
  const users: userV1.User[] = [];
  const orders: orderV1.Order[] = [];
  const calls = { user: 0, order: 0 };
  const user = defineService('switchyard.user.v1.UserService', userV1.UserServiceService, {
    async createUser(request) {
      calls.user += 1;
      const violations = new FieldViolations();
      if (request.name === '') violations.add('name', 'is required');
      if (!request.email.includes('@')) violations.add('email', 'is not a valid email address');
      violations.throwIfAny();
      if (users.some((existing) => existing.email === request.email)) throw new AlreadyExistsError(`a user with email "${request.email}" already exists`);
      const created = { id: `u${users.length + 1}`, name: request.name, email: request.email, createTime: new Date(Date.UTC(2026, 0, 1, 12, 0, users.length)), orderCount: 0, totalSpentCents: 0 };
      users.push(created);
      return { user: created };
    },
    async getUser(request, call) {
      calls.user += 1;
      if (request.id === 'slow') {
        // Answers only when its caller goes away, and says so.
        slow.arrived();
        await new Promise((resolve) => call.signal.addEventListener('abort', resolve, { once: true }));
        slow.cancelled();
        throw new NotFoundError('user', request.id);
      }
      const found = users.find((candidate) => candidate.id === request.id);
      if (!found) throw new NotFoundError('user', request.id);
      return { user: found };
    },
    async listUsers(request) {
      calls.user += 1;
      const start = Number(request.pageToken || '0');
      const size = request.pageSize || 20;
      const page = users.slice(start, start + size);
      return { users: page, nextPageToken: start + size < users.length ? String(start + size) : '' };
    },
    async batchGetUsers() {
      throw new Error('not routed over HTTP');
    },
  });
  const order = defineService('switchyard.order.v1.OrderService', orderV1.OrderServiceService, {
    async createOrder(request) {
      calls.order += 1;
      const created: orderV1.Order = {
        id: `o${orders.length + 1}`,
        userId: request.userId,
        items: request.items,
        totalCents: request.items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0),
        createTime: new Date(Date.UTC(2026, 0, 2)),
        requestId: request.requestId,
      };
      orders.push(created);
      return { order: created };
    },
    async getOrder(request) {
      calls.order += 1;
      if (request.id === 'broken') throw statusError(Status.INTERNAL, 'SQLITE_CORRUPT: database disk image is malformed (/srv/data/order.db)');
      // What grpc-js says when it cannot reach an instance.
      if (request.id === 'unreachable') throw statusError(Status.UNAVAILABLE, 'No connection established. Last error: connect ECONNREFUSED 10.0.0.7:50053');
      const found = orders.find((candidate) => candidate.id === request.id);
      if (!found) throw new NotFoundError('order', request.id);
      return { order: found };
    },
    async listOrders(request) {
      calls.order += 1;
      return { orders: orders.filter((candidate) => candidate.userId === request.userId), nextPageToken: '' };
    },
  });
  return { user, order, calls };
}

const BODY_LIMIT = 4096;

describe('the gateway HTTP/JSON face', () => {
  const servers: TestServer[] = [];
  const logger = pino({ level: 'silent' });
  // Deadlines past the test timeout: a call that is not cancelled waits them out and the test fails.
  const factory = createClientFactory({ logger, defaultDeadlineMs: 60_000, idempotentMethods: idempotentMethodPaths(descriptorSetBase64) });
  let face: HttpFace;
  let base: string;
  let calls: { user: number; order: number };
  const seenByMiddleware: { method: string; authorization: string[] }[] = [];
  // What reached the user and order services of the caller's metadata.
  const seenUpstream: { method: string; canary: string[]; subject: string[]; other: string[] }[] = [];
  const forwardedHeaders = ['x-canary'];

  beforeAll(async () => {
    const upstream = fakeUpstreams();
    calls = upstream.calls;
    const recordUpstream: ServerMiddleware = (call, next) => {
      const values = (key: string) => call.metadata.get(key).map(String);
      seenUpstream.push({ method: call.method, canary: values('x-canary'), subject: values('x-switchyard-subject'), other: values('x-other') });
      return next();
    };
    const userServer = await startTestServer([upstream.user], [tracingMiddleware, recordUpstream]);
    const orderServer = await startTestServer([upstream.order], [tracingMiddleware, recordUpstream]);
    servers.push(userServer, orderServer);
    const targets = { user: userServer.address, order: orderServer.address };
    const services = [
      createGatewayService(grpcUpstream(factory, targets, forwardedHeaders)),
      ...PUBLIC_SERVICES.map((service) => forwardingService(service, factory.get(service.client, targets[service.app]), { toEdgeError, forwardedHeaders })),
    ];
    // Stands for what the gateway's server middleware will hold (auth, limits): it sees every call.
    const recordCall: ServerMiddleware = (call, next) => {
      seenByMiddleware.push({ method: call.method, authorization: call.metadata.get('authorization').map(String) });
      return next();
    };
    const gateway = await startTestServer(services, [tracingMiddleware, recordCall]);
    servers.push(gateway);
    face = await startGatewayHttp({
      http: { host: '127.0.0.1', port: 0, bodyLimitBytes: BODY_LIMIT },
      serviceNames: services.map((service) => service.name),
      grpcAddress: gateway.address,
      deadlineMs: 60_000,
      version: 'test',
      toEdgeError,
      forwardedHeaders: ['x-canary'],
      logger,
    });
    base = `http://127.0.0.1:${face.port}`;
  });

  afterAll(async () => {
    await face?.close();
    factory.close();
    servers.forEach((server) => server.stop());
    await provider.shutdown();
  });

  const send = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  };

  async function createUser(name: string, email: string) {
    const created = await send('POST', '/v1/users', { name, email });
    expect(created.status).toBe(200);
    return (created.body as { user: { id: string } }).user;
  }

  it('creates and reads users in the proto3 JSON form (camelCase, RFC 3339 timestamps)', async () => {
    const created = await send('POST', '/v1/users', { name: 'Ada Lovelace', email: 'ada@example.com' });
    expect(created.status).toBe(200);
    expect(created.headers.get('content-type')).toMatch(/^application\/json/);
    const user = (created.body as { user: Record<string, unknown> }).user;
    expect(user).toEqual({ id: expect.any(String), name: 'Ada Lovelace', email: 'ada@example.com', createTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/), orderCount: '0', totalSpentCents: '0' });
    const read = await send('GET', `/v1/users/${encodeURIComponent(user.id as string)}`);
    expect(read).toMatchObject({ status: 200, body: { user } });
  });

  it('takes field names as written in the proto too, and int64 values as strings both ways', async () => {
    const user = await createUser('Grace', 'grace@example.com');
    const placed = await send('POST', '/v1/orders', {
      user_id: user.id,
      request_id: 'r-1',
      items: [
        { sku: 'engine', quantity: 1, unit_price_cents: '9007199254740' },
        { sku: 'card', quantity: 2, unitPriceCents: 25 },
      ],
    });
    expect(placed.status).toBe(200);
    const order = (placed.body as { order: Record<string, unknown> }).order;
    expect(order).toMatchObject({ userId: user.id, requestId: 'r-1', totalCents: '9007199254790', createTime: '2026-01-02T00:00:00Z' });
    expect(order.items).toEqual([
      { sku: 'engine', quantity: 1, unitPriceCents: '9007199254740' },
      { sku: 'card', quantity: 2, unitPriceCents: '25' },
    ]);
    await expect(send('GET', `/v1/orders/${order.id as string}`)).resolves.toMatchObject({ status: 200, body: { order } });
    await expect(send('GET', `/v1/users/${user.id}/orders`)).resolves.toMatchObject({ status: 200, body: { orders: [order], nextPageToken: '' } });
    const aggregate = await send('GET', `/v1/users/${user.id}:withOrders?page_size=5`);
    expect(aggregate).toMatchObject({ status: 200, body: { user: { id: user.id }, orders: [order], partialFailures: [] } });
  });

  it('pages through users with query parameters', async () => {
    for (const name of ['p1', 'p2', 'p3']) await createUser(name, `${name}@example.com`);
    const seen: string[] = [];
    let token = '';
    for (let page = 0; page < 10; page += 1) {
      const query = token ? `?pageSize=2&page_token=${encodeURIComponent(token)}` : '?page_size=2';
      const answer = await send('GET', `/v1/users${query}`);
      expect(answer.status).toBe(200);
      const body = answer.body as { users: { email: string }[]; nextPageToken: string };
      expect(body.users.length).toBeLessThanOrEqual(2);
      seen.push(...body.users.map((user) => user.email));
      token = body.nextPageToken;
      if (!token) break;
    }
    expect(seen).toEqual(expect.arrayContaining(['p1@example.com', 'p2@example.com', 'p3@example.com']));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it("reaches the gateway's methods through its server middleware, with the caller's authorization", async () => {
    seenByMiddleware.length = 0;
    await send('GET', '/v1/users/anyone', undefined, { authorization: 'Bearer http-caller' });
    await send('GET', '/v1/users/anyone:withOrders');
    expect(seenByMiddleware).toEqual([
      { method: '/switchyard.user.v1.UserService/GetUser', authorization: ['Bearer http-caller'] },
      { method: '/switchyard.gateway.v1.GatewayService/GetUserWithOrders', authorization: [] },
    ]);
  });

  it('passes the canary header on to the services it calls, and no other header of the caller', async () => {
    seenUpstream.length = 0;
    const headers = { 'x-canary': '0.2.0', 'x-switchyard-subject': 'someone-else', 'x-other': 'nope' };
    await send('GET', '/v1/users/anyone', undefined, headers);
    await send('GET', '/v1/users/anyone:withOrders', undefined, headers);
    expect(seenUpstream.length).toBeGreaterThanOrEqual(2);
    expect(seenUpstream).toContainEqual(expect.objectContaining({ method: '/switchyard.order.v1.OrderService/ListOrders' }));
    // The subject comes from the gateway's auth, never from an HTTP header.
    for (const seen of seenUpstream) expect(seen).toEqual({ method: seen.method, canary: ['0.2.0'], subject: [], other: [] });
  });

  it('cancels the call behind a request whose client goes away', async () => {
    const client = new AbortController();
    const request = fetch(`${base}/v1/users/slow`, { signal: client.signal }).catch((error: Error) => error.name);
    await slow.reached;
    client.abort();
    await expect(request).resolves.toBe('AbortError');
    // The user service sees its call cancelled (it would otherwise wait for ever).
    await slow.gone;
  });

  it('answers a missing user with a 404 problem', async () => {
    const answer = await send('GET', '/v1/users/nobody');
    expect(answer.status).toBe(404);
    expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(answer.body).toEqual({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'user "nobody" not found', code: 'NOT_FOUND', traceId: expect.stringMatching(/^[0-9a-f]{32}$/) });
  });

  it('answers bad fields with a 400 problem listing each violation from the service', async () => {
    const answer = await send('POST', '/v1/users', { name: '', email: 'nope' });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({
      status: 400,
      code: 'INVALID_ARGUMENT',
      fieldViolations: [
        { field: 'name', description: 'is required' },
        { field: 'email', description: 'is not a valid email address' },
      ],
    });
  });

  it('answers a duplicate with a 409 problem', async () => {
    await createUser('Dup', 'dup@example.com');
    await expect(send('POST', '/v1/users', { name: 'Dup', email: 'dup@example.com' })).resolves.toMatchObject({ status: 409, body: { code: 'ALREADY_EXISTS', title: 'Conflict' } });
  });

  it('refuses unknown fields, at any depth, naming them, without calling the service', async () => {
    const before = { ...calls };
    const answer = await send('POST', '/v1/orders', { userId: 'u1', admin: true, items: [{ sku: 'x', quantity: 1, unitPriceCents: '1', discount: 100 }] });
    expect(answer.status).toBe(400);
    expect(answer.body?.fieldViolations).toEqual([
      { field: 'admin', description: 'is not a field of CreateOrderRequest' },
      { field: 'items[0].discount', description: 'is not a field of OrderItem' },
    ]);
    const query = await send('GET', '/v1/users?page_size=2&admin=1');
    expect(query).toMatchObject({ status: 400, body: { fieldViolations: [{ field: 'admin', description: 'is not a query parameter of GET /v1/users' }] } });
    const wrongType = await send('POST', '/v1/orders', { userId: 'u1', items: [{ sku: 'x', quantity: 'many', unitPriceCents: '1' }] });
    expect(wrongType).toMatchObject({ status: 400, body: { code: 'INVALID_ARGUMENT', fieldViolations: [{ field: 'quantity' }] } });
    expect(calls).toEqual(before);
  });

  it('answers malformed JSON with 400, a body over the limit with 413, unknown routes with 404 and wrong methods with 405', async () => {
    const before = { ...calls };
    await expect(send('POST', '/v1/users', '{"name": "Ada",')).resolves.toMatchObject({ status: 400, body: { code: 'INVALID_ARGUMENT', detail: expect.stringContaining('not valid JSON') } });
    const large = await send('POST', '/v1/users', { name: 'x'.repeat(BODY_LIMIT), email: 'big@example.com' });
    expect(large).toMatchObject({ status: 413, body: { code: 'RESOURCE_EXHAUSTED', detail: expect.stringContaining(`${BODY_LIMIT} bytes`) } });
    await expect(send('GET', '/v2/anything')).resolves.toMatchObject({ status: 404, body: { status: 404, code: 'NOT_FOUND' } });
    const wrongMethod = await send('DELETE', '/v1/users/u1');
    expect(wrongMethod).toMatchObject({ status: 405, body: { status: 405 } });
    expect(wrongMethod.headers.get('allow')).toBe('GET');
    expect(wrongMethod.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(calls).toEqual(before);
  });

  it('continues the caller traceparent and names its span in traceresponse and in problems', async () => {
    const callerTraceId = '0af7651916cd43dd8448eb211c80319c';
    const callerSpanId = 'b7ad6b7169203331';
    const answer = await send('GET', '/v1/users/ghost', undefined, { traceparent: `00-${callerTraceId}-${callerSpanId}-01` });
    expect(answer.status).toBe(404);
    expect(answer.body?.traceId).toBe(callerTraceId);
    const traceresponse = answer.headers.get('traceresponse') ?? '';
    expect(traceresponse).toMatch(new RegExp(`^00-${callerTraceId}-[0-9a-f]{16}-01$`));
    const httpSpanId = traceresponse.split('-')[2];

    const spans = exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === callerTraceId);
    const httpSpan = spans.find((span) => span.spanContext().spanId === httpSpanId)!;
    expect(httpSpan.name).toBe('GET /v1/users/{id}');
    expect(httpSpan.parentSpanContext?.spanId).toBe(callerSpanId);
    expect(httpSpan.attributes).toMatchObject({ 'http.request.method': 'GET', 'http.route': '/v1/users/{id}', 'http.response.status_code': 404, 'url.path': '/v1/users/ghost' });
    // The same trace carries on through the gateway's gRPC server to the user service.
    const serverSpans = spans.filter((span) => span.kind === 1 && span.name === 'switchyard.user.v1.UserService/GetUser');
    expect(serverSpans.length).toBeGreaterThanOrEqual(2);
  });

  it('answers an upstream fault with a 500 problem that hides its internals', async () => {
    const answer = await send('GET', '/v1/orders/broken');
    expect(answer.status).toBe(500);
    expect(answer.body).toMatchObject({ status: 500, code: 'INTERNAL', detail: expect.stringMatching(/^internal error/) });
    expect(JSON.stringify(answer.body)).not.toMatch(/SQLITE|\/srv\//);
  });
  it('answers an unavailable service with a 503 problem that names no address', async () => {
    const answer = await send('GET', '/v1/orders/unreachable');
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ status: 503, title: 'Service Unavailable', code: 'UNAVAILABLE', detail: 'the service is unavailable; retry later' });
    expect(JSON.stringify(answer.body)).not.toMatch(/10\.0\.0\.7|ECONNREFUSED/);
  });

  it('serves /openapi.json listing every annotated route, with schemas that resolve', async () => {
    const answer = await send('GET', '/openapi.json');
    expect(answer.status).toBe(200);
    const document = answer.body as { openapi: string; paths: Record<string, Record<string, OpenApiOperation>>; components: { schemas: Record<string, unknown> } };
    expect(document.openapi).toBe('3.1.0');
    const operations = Object.entries(document.paths).flatMap(([path, byVerb]) => Object.keys(byVerb).map((verb) => `${verb.toUpperCase()} ${path}`));
    expect(operations.sort()).toEqual(
      [
        'GET /v1/users/{id}',
        'POST /v1/users',
        'GET /v1/users',
        'POST /v1/orders',
        'GET /v1/orders/{id}',
        'GET /v1/users/{user_id}/orders',
        'GET /v1/users/{user_id}:withOrders',
      ].sort(),
    );
    expect(openApiProblems(document)).toEqual([]);
    // The proto3 JSON forms are what the schemas say.
    const order = document.components.schemas['switchyard.order.v1.Order'] as { properties: Record<string, unknown> };
    expect(order.properties.totalCents).toEqual({ type: 'string', format: 'int64' });
    expect(order.properties.createTime).toMatchObject({ type: 'string', format: 'date-time' });
    expect(document.paths['/v1/users'].get.parameters?.map((parameter) => parameter.name)).toEqual(['pageSize', 'pageToken']);
  });
});

interface OpenApiOperation {
  operationId: string;
  parameters?: { name: string; in: string; required: boolean; schema: unknown }[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
}

/** What makes an OpenAPI 3.1 document structurally wrong: refs that resolve nowhere, path parameters not declared, operations without responses. */
function openApiProblems(document: { paths: Record<string, Record<string, OpenApiOperation>>; components: { schemas: Record<string, unknown> } }): string[] {
  const problems: string[] = [];
  const operationIds = new Set<string>();
  const visit = (node: unknown, where: string) => {
    if (Array.isArray(node)) return node.forEach((item, index) => visit(item, `${where}[${index}]`));
    if (typeof node !== 'object' || node === null) return;
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref') {
        const name = String(value).replace('#/components/schemas/', '');
        if (!String(value).startsWith('#/components/schemas/') || !(name in document.components.schemas)) problems.push(`${where}: $ref ${String(value)} resolves nowhere`);
      } else visit(value, `${where}.${key}`);
    }
  };
  visit(document, '#');
  for (const [path, byVerb] of Object.entries(document.paths)) {
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
    for (const [verb, operation] of Object.entries(byVerb)) {
      const where = `${verb.toUpperCase()} ${path}`;
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(verb)) problems.push(`${where}: not an HTTP method`);
      if (operationIds.has(operation.operationId)) problems.push(`${where}: operationId ${operation.operationId} twice`);
      operationIds.add(operation.operationId);
      const inPath = (operation.parameters ?? []).filter((parameter) => parameter.in === 'path');
      if (inPath.map((parameter) => parameter.name).sort().join() !== [...templated].sort().join()) problems.push(`${where}: path parameters ${inPath.map((p) => p.name).join()} do not match the template`);
      if (inPath.some((parameter) => !parameter.required)) problems.push(`${where}: a path parameter must be required`);
      if (!operation.responses?.['200']) problems.push(`${where}: no 200 response`);
      if (verb === 'get' && operation.requestBody) problems.push(`${where}: a GET with a body`);
    }
  }
  for (const [name, schema] of Object.entries(document.components.schemas)) {
    if (typeof schema !== 'object' || schema === null || !('type' in schema)) problems.push(`schema ${name}: no type`);
  }
  return problems;
}
