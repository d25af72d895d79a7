// End to end: the BUILT apps as child processes (SQLite), outside clients going through the
// gateway only: gRPC calls of user and order routed on its gRPC port, and the HTTP/JSON face on
// its HTTP_PORT, traced over OTLP to a receiver in this process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { googleRpc } from '@switchyard/proto';
import { connectReflection, eventually, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan, type ReflectionConnection } from '@switchyard/testing';
import { LocalStack } from './local-stack';

const workspaceRoot = resolve(__dirname, '../../..');
jest.setTimeout(60_000);

describe('the gateway as the front door', () => {
  let stack: LocalStack;
  let receiver: OtlpReceiver;
  let dataDir: string;
  let gateway: ReflectionConnection;
  let http: string;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    dataDir = mkdtempSync(join(tmpdir(), 'switchyard-front-door-'));
    stack = await LocalStack.start({ workspaceRoot, dataDir, otlpEndpoint: receiver.endpoint, extraEnv: { OTEL_BSP_SCHEDULE_DELAY: '200' } });
    gateway = connectReflection(stack.address('gateway'));
    http = `http://127.0.0.1:${stack.httpPort}`;
  });

  afterAll(async () => {
    gateway?.close();
    await stack?.stop();
    await receiver?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const call = async (method: string, path: string, body?: object, headers: Record<string, string> = {}) => {
    const response = await fetch(`${http}${path}`, {
      method,
      headers: body ? { 'content-type': 'application/json', ...headers } : headers,
      body: body ? JSON.stringify(body) : undefined,
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of many shapes, checked by the assertions
    return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
  };

  it("lists user's and order's services in the gateway's reflection, and describes them", async () => {
    const services = await gateway.listServices();
    expect(services).toEqual(expect.arrayContaining(['switchyard.gateway.v1.GatewayService', 'switchyard.user.v1.UserService', 'switchyard.order.v1.OrderService']));
    const described = await gateway.describe('switchyard.order.v1.OrderService');
    expect(described.kind).toBe('service');
  });

  it("routes user's calls on the gateway's gRPC port; an error keeps its code and BadRequest and nothing else", async () => {
    const email = `routed-${Date.now()}@example.com`;
    const created = (await gateway.invoke('switchyard.user.v1.UserService/CreateUser', { name: 'Routed', email })).json as { user: { id: string } };
    const read = (await gateway.invoke('switchyard.user.v1.UserService/GetUser', { id: created.user.id })).json as { user: { email: string } };
    expect(read.user.email).toBe(email);

    const error = (await gateway.invoke('switchyard.user.v1.UserService/CreateUser', { name: '', email: 'nope' }).catch((e: ServiceError) => e)) as ServiceError;
    expect(error.code).toBe(Status.INVALID_ARGUMENT);
    const [details] = error.metadata.get('grpc-status-details-bin') as Buffer[];
    const violations = googleRpc.Status.decode(details).details.flatMap((detail) => googleRpc.BadRequest.decode(detail.value).fieldViolations.map((v) => v.field));
    expect(violations).toEqual(expect.arrayContaining(['name', 'email']));
    // Only the status and its details: no trailers from behind the gateway, no addresses.
    const keys = Object.keys(error.metadata.getMap()).filter((key) => !['grpc-status-details-bin', 'content-type', 'date'].includes(key));
    expect(keys).toEqual([]);
    expect(JSON.stringify({ details: error.details, metadata: error.metadata.getMap() })).not.toMatch(new RegExp(`127\\.0\\.0\\.1|:${stack.ports.user}\\b|user:`));

    await expect(gateway.invoke('switchyard.order.v1.OrderService/GetOrder', { id: 'no-such-order' })).rejects.toMatchObject({ code: Status.NOT_FOUND });
  });

  it('serves every annotated route over HTTP in proto3 JSON, through the real services', async () => {
    const created = await call('POST', '/v1/users', { name: 'Ada Lovelace', email: `ada-${Date.now()}@example.com` });
    expect(created.status).toBe(200);
    const user = created.body.user;
    expect(user.createTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    await expect(call('GET', `/v1/users/${user.id}`)).resolves.toMatchObject({ status: 200, body: { user } });

    const placed = await call('POST', '/v1/orders', { user_id: user.id, request_id: `e2e-${user.id}`, items: [{ sku: 'analytical-engine', quantity: 1, unitPriceCents: '125000' }] });
    expect(placed).toMatchObject({ status: 200, body: { order: { userId: user.id, totalCents: '125000', items: [{ unitPriceCents: '125000' }] } } });
    const order = placed.body.order;
    await expect(call('GET', `/v1/orders/${order.id}`)).resolves.toMatchObject({ status: 200, body: { order } });
    await expect(call('GET', `/v1/users/${user.id}/orders?page_size=10`)).resolves.toMatchObject({ status: 200, body: { orders: [order] } });
    await expect(call('GET', `/v1/users/${user.id}:withOrders`)).resolves.toMatchObject({ status: 200, body: { user, orders: [order], partialFailures: [] } });

    const firstPage = await call('GET', '/v1/users?pageSize=1');
    expect(firstPage.status).toBe(200);
    expect(firstPage.body.users).toHaveLength(1);
    expect(firstPage.body.nextPageToken).not.toBe('');
    const secondPage = await call('GET', `/v1/users?pageSize=1&pageToken=${encodeURIComponent(firstPage.body.nextPageToken)}`);
    expect(secondPage.body.users[0].id).not.toBe(firstPage.body.users[0].id);
  });

  it('answers failures with problem+json: 400 with field violations, 404, 409', async () => {
    const bad = await call('POST', '/v1/users', { name: '', email: 'nope' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(bad.body).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT', fieldViolations: expect.arrayContaining([expect.objectContaining({ field: 'email' })]) });
    await expect(call('GET', '/v1/orders/no-such-order')).resolves.toMatchObject({ status: 404, body: { code: 'NOT_FOUND', title: 'Not Found' } });
    const email = `twice-${Date.now()}@example.com`;
    await call('POST', '/v1/users', { name: 'Twice', email });
    await expect(call('POST', '/v1/users', { name: 'Twice', email })).resolves.toMatchObject({ status: 409, body: { code: 'ALREADY_EXISTS' } });
  });

  it("continues an HTTP caller's traceparent through the gateway to user and order", async () => {
    const users = await call('POST', '/v1/users', { name: 'Traced', email: `traced-${Date.now()}@example.com` });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpanId = '00f067aa0ba902b7';
    const answer = await call('GET', `/v1/users/${users.body.user.id}:withOrders`, undefined, { traceparent: `00-${traceId}-${callerSpanId}-01` });
    expect(answer.status).toBe(200);
    const httpSpanId = (answer.headers.get('traceresponse') ?? '').split('-')[2];
    expect(answer.headers.get('traceresponse')).toBe(`00-${traceId}-${httpSpanId}-01`);

    const isUpstreamServer = (span: ReceivedSpan) => span.traceId === traceId && span.kindName === 'SERVER' && ['user', 'order'].includes(String(span.resource['service.name']));
    await receiver.waitForSpans((spans) => spans.filter(isUpstreamServer).length >= 2 && spans.some((span) => span.spanId === httpSpanId), 10_000);
    const httpSpan = receiver.spans.find((span) => span.spanId === httpSpanId)!;
    expect(httpSpan).toMatchObject({ kindName: 'SERVER', name: 'GET /v1/users/{user_id}:withOrders', parentSpanId: callerSpanId });
    expect(httpSpan.resource['service.name']).toBe('gateway');
    expect(httpSpan.attributes).toMatchObject({ 'http.request.method': 'GET', 'http.route': '/v1/users/{user_id}:withOrders', 'http.response.status_code': 200 });
    // Every span of the trace descends from the HTTP span.
    const byId = new Map(receiver.spans.filter((span) => span.traceId === traceId).map((span) => [span.spanId, span]));
    for (const span of receiver.spans.filter(isUpstreamServer)) {
      let ancestor: ReceivedSpan | undefined = span;
      while (ancestor && ancestor.spanId !== httpSpanId) ancestor = byId.get(ancestor.parentSpanId);
      expect(ancestor?.spanId).toBe(httpSpanId);
    }
  });

  it('serves /openapi.json with every annotated route', async () => {
    const document = await eventually(async () => (await call('GET', '/openapi.json')).body, 5000, '/openapi.json');
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths).sort()).toEqual(['/v1/orders', '/v1/orders/{id}', '/v1/users', '/v1/users/{id}', '/v1/users/{user_id}/orders', '/v1/users/{user_id}:withOrders']);
  });
});
