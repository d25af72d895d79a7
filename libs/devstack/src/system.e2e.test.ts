// End to end: the BUILT apps (dist/apps/*/main.js) as child processes, with the environment
// docker-compose.yml sets and its addresses as written (`registry:<port>`, `gateway:<port>`,
// `postgres`, `jaeger`: the compose-hosts preload resolves those names to this machine; only the
// ports differ; user and order find their own address, ADVERTISE_ADDRESS=auto), PostgreSQL as in compose, and traces exported over OTLP/gRPC to a receiver in
// this process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import { connectReflection, eventually, findGrpcurl, freePort, runGrpcurl, startNatsServer, startOtlpReceiver, type NatsServer, type OtlpReceiver, type ReceivedSpan, type ReflectionConnection } from '@switchyard/testing';
import { sampleValue, scrapeMetrics } from '@switchyard/runtime/testing';
import { LocalStack } from './local-stack';
import { createScratchDatabase } from './postgres-database';

const workspaceRoot = resolve(__dirname, '../../..');
jest.setTimeout(60_000);

describe('Switchyard end to end', () => {
  let stack: LocalStack;
  let receiver: OtlpReceiver;
  let nats: NatsServer;
  let database: { url: string; drop: () => Promise<void> };
  let dataDir: string;
  const clients: ReflectionConnection[] = [];
  // invoke's answer as plain proto3 JSON (what grpcurl prints).
  const asJson = (connection: ReflectionConnection) => ({
    call: async (method: string, request: object) => (await connection.invoke(method, request)).json as unknown,
  });
  const connect = async (address: string) => {
    const client = connectReflection(address);
    clients.push(client);
    return Object.assign(client, asJson(client));
  };
  const resolveInstances = async (serviceName: string) => {
    const registry = await connect(stack.address('registry'));
    // The stack runs with a registry token, and reads need it.
    const metadata = { authorization: `Bearer ${stack.registryToken}` };
    const response = (await registry.invoke('switchyard.registry.v1.RegistryService/Resolve', { serviceName }, { metadata })).json as {
      instances?: { address: string; state: string }[];
    };
    return response.instances ?? [];
  };

  beforeAll(async () => {
    database = await createScratchDatabase('switchyard_e2e');
    receiver = await startOtlpReceiver();
    nats = await startNatsServer();
    dataDir = mkdtempSync(join(tmpdir(), 'switchyard-e2e-'));
    stack = await LocalStack.start({
      workspaceRoot,
      dataDir,
      databaseUrl: database.url,
      otlpEndpoint: receiver.endpoint,
      // Standard OTel variable: export every 200 ms instead of 5 s so the test need not wait.
      eventsUrl: nats.url,
      extraEnv: { OTEL_BSP_SCHEDULE_DELAY: '200' },
    });
  });

  afterAll(async () => {
    clients.forEach((client) => client.close());
    await stack?.stop();
    await receiver?.stop();
    await nats?.stop();
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('every app serves health and reflection listing its service', async () => {
    const expected = {
      registry: 'switchyard.registry.v1.RegistryService',
      user: 'switchyard.user.v1.UserService',
      order: 'switchyard.order.v1.OrderService',
      gateway: 'switchyard.gateway.v1.GatewayService',
    } as const;
    for (const [app, service] of Object.entries(expected)) {
      const client = await connect(stack.address(app as keyof typeof expected));
      const services = await client.listServices();
      expect(services).toEqual(expect.arrayContaining([service, 'grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection']));
    }
  });

  it('runs the registry with a token of its own: without it, reads are refused', async () => {
    const registry = await connect(stack.address('registry'));
    await expect(registry.invoke('switchyard.registry.v1.RegistryService/Resolve', { serviceName: 'user' })).rejects.toMatchObject({
      code: Status.UNAUTHENTICATED,
    });
  });

  it('user, order and gateway registered themselves with the registry', async () => {
    for (const app of ['user', 'order', 'gateway']) {
      const instances = await eventually(async () => {
        const found = await resolveInstances(app);
        return found.length > 0 ? found : undefined;
      }, 5000, `${app} in the registry`);
      // The gateway by its compose name; user and order (ADVERTISE_ADDRESS=auto) by this machine's address.
      expect(instances).toEqual([expect.objectContaining({ address: stack.advertisedAddress(app as 'user'), state: 'INSTANCE_STATE_SERVING' })]);
      if (app === 'gateway') expect(instances[0].address).toBe(`gateway:${stack.ports.gateway}`);
      else expect(instances[0].address).not.toMatch(/^(user|order|127\.)/);
    }
  });

  it('creates a user and an order and reads them back through the gateway as one trace', async () => {
    const user = await connect(stack.address('user'));
    const order = await connect(stack.address('order'));
    const gateway = await connect(stack.address('gateway'));
    const email = `ada-${Date.now()}@example.com`;
    const created = (await user.call('switchyard.user.v1.UserService/CreateUser', { name: 'Ada Lovelace', email })) as { user: { id: string; email: string } };
    expect(created.user.email).toBe(email);
    const userId = created.user.id;

    const orderResponse = (await order.call('switchyard.order.v1.OrderService/CreateOrder', {
      userId,
      items: [{ sku: 'analytical-engine', quantity: 1, unitPriceCents: '125000' }, { sku: 'punch-card', quantity: 10, unitPriceCents: '25' }],
      requestId: `e2e-${userId}`,
    })) as { order: { id: string; totalCents: string; createTime: string } };
    expect(orderResponse.order.totalCents).toBe('125250');
    expect(orderResponse.order.createTime).toMatch(/^\d{4}-\d\d-\d\dT/);

    const aggregate = (await gateway.call('switchyard.gateway.v1.GatewayService/GetUserWithOrders', { userId })) as {
      user: { id: string };
      orders: { id: string }[];
      partialFailures?: unknown[];
    };
    expect(aggregate.user.id).toBe(userId);
    expect(aggregate.orders.map((o) => o.id)).toEqual([orderResponse.order.id]);
    expect(aggregate.partialFailures ?? []).toEqual([]);

    // The gateway's SERVER span starts the trace; order and user join it, parent to child:
    // gateway SERVER -> CLIENT call -> attempt 1 -> downstream SERVER.
    const isGatewayServerSpan = (s: ReceivedSpan) => s.name === 'switchyard.gateway.v1.GatewayService/GetUserWithOrders' && s.kindName === 'SERVER';
    await receiver.waitForSpans((spans) => spans.some(isGatewayServerSpan), 10_000);
    const gatewaySpan = receiver.spans.find(isGatewayServerSpan)!;
    const traceId = gatewaySpan.traceId;
    const isDownstreamServerSpan = (s: ReceivedSpan) =>
      s.traceId === traceId && s.kindName === 'SERVER' && (s.name.endsWith('UserService/GetUser') || s.name.endsWith('OrderService/ListOrders'));
    await receiver.waitForSpans((spans) => spans.filter(isDownstreamServerSpan).length === 2, 10_000);
    const inTrace = receiver.spans.filter(isDownstreamServerSpan);
    const all = receiver.spans.filter((s) => s.traceId === traceId);
    const byId = new Map(all.map((s) => [s.spanId, s]));
    const services = new Set(all.map((s) => s.resource['service.name']));
    expect(services).toEqual(new Set(['gateway', 'order', 'user']));
    for (const serverSpan of inTrace) {
      const attempt = byId.get(serverSpan.parentSpanId);
      expect(attempt).toMatchObject({ kindName: 'INTERNAL', name: 'attempt 1' });
      const client = byId.get(attempt!.parentSpanId);
      expect(client).toMatchObject({ kindName: 'CLIENT', name: serverSpan.name });
      expect(client?.resource['service.name']).toBe('gateway');
      expect(byId.get(client!.parentSpanId)?.spanId).toBe(gatewaySpan.spanId);
      expect(serverSpan.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.grpc.status_code': 0 });
    }
    // The order service's own check of the user was traced too, in its own trace from CreateOrder.
    expect(receiver.spans.some((s) => s.kindName === 'CLIENT' && s.name.endsWith('UserService/GetUser') && s.resource['service.name'] === 'order')).toBe(true);
  });

  it("counts an order in its user's totals through the outbox and JetStream, in the CreateOrder call's trace", async () => {
    const gateway = await connect(stack.address('gateway'));
    const created = (await gateway.call('switchyard.user.v1.UserService/CreateUser', { name: 'Grace Hopper', email: `grace-${Date.now()}@example.com` })) as { user: { id: string } };
    const userId = created.user.id;
    for (const requestId of ['first', 'second', 'first']) {
      await gateway.call('switchyard.order.v1.OrderService/CreateOrder', { userId, requestId, items: [{ sku: 'cobol', quantity: 2, unitPriceCents: '700' }] });
    }
    // The retried 'first' is the same order: two orders, counted once each.
    const totals = await eventually(async () => {
      const { user } = (await gateway.call('switchyard.user.v1.UserService/GetUser', { id: userId })) as { user: { orderCount?: string; totalSpentCents?: string } };
      return user.orderCount === '2' ? user : undefined;
    }, 15_000, "the user's order count from events");
    expect(totals.totalSpentCents).toBe('2800');

    // gateway SERVER CreateOrder ... order SERVER -> publish (PRODUCER, order) -> process (CONSUMER, user), one
    // trace. Each app exports on its own schedule: wait until the whole chain has arrived.
    const isCreateOrderServer = (s: ReceivedSpan, app: string) => s.kindName === 'SERVER' && s.name === 'switchyard.order.v1.OrderService/CreateOrder' && s.resource['service.name'] === app;
    const chain = (spans: readonly ReceivedSpan[]) => {
      // Orders created through the gateway: this test's, not the direct call's of an earlier one.
      const gatewayTraces = new Set(spans.filter((s) => isCreateOrderServer(s, 'gateway')).map((s) => s.traceId));
      const orderServers = new Set(spans.filter((s) => isCreateOrderServer(s, 'order') && gatewayTraces.has(s.traceId)).map((s) => s.spanId));
      const publish = spans.find((s) => s.kindName === 'PRODUCER' && s.name === 'publish switchyard.order.v1.OrderCreated' && orderServers.has(s.parentSpanId));
      const processing = publish && spans.find((s) => s.kindName === 'CONSUMER' && s.parentSpanId === publish.spanId);
      return publish && processing ? { publish, processing } : undefined;
    };
    await receiver.waitForSpans((spans) => chain(spans) !== undefined, 15_000);
    const { publish, processing } = chain(receiver.spans)!;
    expect(publish.resource['service.name']).toBe('order');
    expect(publish.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.destination.name': 'switchyard.order.v1.OrderCreated' });
    expect(processing).toMatchObject({ traceId: publish.traceId, name: 'process switchyard.order.v1.OrderCreated' });
    expect(processing.resource['service.name']).toBe('user');
    expect(processing.attributes).toMatchObject({ 'messaging.consumer.group.name': 'user-order-totals', 'messaging.message.id': publish.attributes['messaging.message.id'] });
  });

  it('every app serves /metrics on the free port it logs, with the calls above counted', async () => {
    const metricsPort = (app: string) => {
      for (const process of stack.processes.filter((p) => p.options.app === app)) {
        for (const line of process.lines) {
          if (!line.includes('metrics serving')) continue;
          return (JSON.parse(line) as { port: number }).port;
        }
      }
      throw new Error(`${app} logged no 'metrics serving' line`);
    };
    const scrape = async (app: string) => scrapeMetrics(metricsPort(app));
    const method = (service: string, name: string, code = '0') => ({ rpc_service: service, rpc_method: name, rpc_grpc_status_code: code });

    const user = await scrape('user');
    expect(sampleValue(user, 'rpc_server_duration_seconds_count', method('switchyard.user.v1.UserService', 'CreateUser'))).toBeGreaterThanOrEqual(1);
    expect(sampleValue(user, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    const order = await scrape('order');
    expect(sampleValue(order, 'rpc_server_duration_seconds_count', method('switchyard.order.v1.OrderService', 'CreateOrder'))).toBeGreaterThanOrEqual(1);
    // Order checks the user it is given: a client call of its own.
    expect(sampleValue(order, 'rpc_client_duration_seconds_count', method('switchyard.user.v1.UserService', 'GetUser'))).toBeGreaterThanOrEqual(1);
    const gateway = await scrape('gateway');
    expect(sampleValue(gateway, 'rpc_server_duration_seconds_count', method('switchyard.gateway.v1.GatewayService', 'GetUserWithOrders'))).toBeGreaterThanOrEqual(1);
    expect(sampleValue(gateway, 'gateway_circuit_breaker_state', { upstream: 'user' })).toBe(0);
    const registry = await scrape('registry');
    for (const app of ['user', 'order', 'gateway']) expect([app, sampleValue(registry, 'registry_instances', { service: app, state: 'SERVING' })]).toEqual([app, 1]);
  });

  it('answers bad input with the right status', async () => {
    const user = await connect(stack.address('user'));
    const order = await connect(stack.address('order'));
    await expect(user.invoke('switchyard.user.v1.UserService/CreateUser', { name: 'x', email: 'not-an-email' })).rejects.toMatchObject({
      code: Status.INVALID_ARGUMENT,
      details: expect.stringContaining('email'),
    });
    await expect(order.invoke('switchyard.order.v1.OrderService/GetOrder', { id: 'no-such-order' })).rejects.toMatchObject({ code: Status.NOT_FOUND });
    await expect(
      order.invoke('switchyard.order.v1.OrderService/CreateOrder', { userId: 'no-such-user', items: [{ sku: 'a', quantity: 1, unitPriceCents: '1' }] }),
    ).rejects.toMatchObject({ code: Status.FAILED_PRECONDITION, details: expect.stringContaining('no-such-user') });
  });

  it('SIGTERM deregisters an instance before it exits', async () => {
    const port = await freePort();
    const extra = await stack.startApp('order', { GRPC_PORT: String(port), ADVERTISE_ADDRESS: `127.0.0.1:${port}` });
    await eventually(async () =>
      (await resolveInstances('order')).some((i) => i.address === `127.0.0.1:${port}`), 5000, 'second order instance registered');
    const direct = await connect(`127.0.0.1:${port}`);
    await direct.invoke('switchyard.order.v1.OrderService/ListOrders', { userId: 'anyone' });
    direct.close();
    const exit = await extra.stop('SIGTERM');
    expect(exit.code).toBe(0);
    // Deregistered during shutdown, not evicted later: gone as soon as the process has exited.
    expect((await resolveInstances('order')).map((i) => i.address)).toEqual([stack.advertisedAddress('order')]);
    // The span of the call it answered was flushed to the receiver before exit, and it says so.
    const spanLine = extra.lines.map((line) => JSON.parse(line) as { msg?: string; spans_ended?: number; spans_exported?: number }).find((l) => l.msg === 'every span exported');
    expect(spanLine?.spans_ended).toBeGreaterThan(0);
    expect(spanLine?.spans_exported).toBe(spanLine?.spans_ended);
  });

  it('a SIGKILLed user instance disappears from Resolve within 8 s', async () => {
    const port = await freePort();
    const extra = await stack.startApp('user', { GRPC_PORT: String(port), ADVERTISE_ADDRESS: `127.0.0.1:${port}` });
    await eventually(async () =>
      (await resolveInstances('user')).some((i) => i.address === `127.0.0.1:${port}`), 5000, 'second user instance registered');
    const killedAt = Date.now();
    await extra.stop('SIGKILL');
    await eventually(async () =>
      (await resolveInstances('user')).every((i) => i.address !== `127.0.0.1:${port}`), 8000, 'killed user instance evicted');
    const evictedAfterMs = Date.now() - killedAt;
    process.stdout.write(`SIGKILLed user instance left the registry after ${evictedAfterMs} ms\n`);
    expect(evictedAfterMs).toBeLessThanOrEqual(8000);
    // The surviving instance still serves the gateway.
    const gateway = await connect(stack.address('gateway'));
    await expect(gateway.invoke('switchyard.gateway.v1.GatewayService/GetUserWithOrders', { userId: 'missing' })).rejects.toMatchObject({
      code: Status.NOT_FOUND,
    });
  });

  it('grpcurl lists, describes and calls the gateway, and prints bad-input details (skipped without a grpcurl binary)', async () => {
    const grpcurl = findGrpcurl();
    if (!grpcurl) {
      process.stdout.write('skipped: grpcurl not found (set GRPCURL or put it at ../shared/tools/grpcurl)\n');
      return;
    }
    const address = stack.address('gateway');
    const list = await runGrpcurl(['-plaintext', address, 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('switchyard.gateway.v1.GatewayService');
    const describe = await runGrpcurl(['-plaintext', address, 'describe', 'switchyard.gateway.v1.GetUserWithOrdersResponse']);
    expect(describe.code).toBe(0);
    expect(describe.stdout).toContain('repeated .switchyard.order.v1.Order orders');
    const call = await runGrpcurl(['-plaintext', '-d', '{"user_id": "missing"}', address, 'switchyard.gateway.v1.GatewayService/GetUserWithOrders']);
    expect(call.code).not.toBe(0);
    expect(call.stderr).toContain('NotFound');
    // Bad input: grpcurl decodes the google.rpc.BadRequest detail through reflection.
    const bad = await runGrpcurl(['-plaintext', '-d', '{"name": "", "email": "nope"}', stack.address('user'), 'switchyard.user.v1.UserService/CreateUser']);
    expect(bad.stderr).toContain('Code: InvalidArgument');
    expect(bad.stderr).toContain('"@type": "type.googleapis.com/google.rpc.BadRequest"');
    expect(bad.stderr.replace(/\s+/g, ' ')).toContain('"field": "email", "description": "is not a valid email address"');
  });
});
