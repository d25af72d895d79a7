import { create, fromBinary, toBinary, type DescMessage } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { descriptorSetBase64, gatewayV1, orderV1, registryV1, userV1 } from '@switchyard/proto';
import { addReflection, connectReflection, type ReflectionConnection } from '@switchyard/runtime';
import { HealthImplementation } from 'grpc-health-check';
import { findGrpcurl, grpcurlCandidates, runGrpcurl } from './grpcurl';

const SERVICES = [
  'switchyard.user.v1.UserService',
  'switchyard.order.v1.OrderService',
  'switchyard.gateway.v1.GatewayService',
  'switchyard.registry.v1.RegistryService',
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
];
const PROTOS_DIR = join(__dirname, '..', '..', '..', 'protos');
const CREATED = new Date('2024-05-01T12:00:00Z');
const ADA: userV1.User = { id: 'u-1', name: 'Ada', email: 'ada@example.com', createTime: CREATED, orderCount: 0, totalSpentCents: 0 };
const ORDER: orderV1.Order = {
  id: 'o-1',
  userId: 'u-1',
  items: [{ sku: 'sku-1', quantity: 2, unitPriceCents: 150 }],
  totalCents: 300,
  createTime: CREATED,
  requestId: 'r-1',
};
const notFound = (what: string): grpc.ServiceError =>
  Object.assign(new Error(what), { code: grpc.status.NOT_FOUND, details: what, metadata: new grpc.Metadata() });

async function listen(server: grpc.Server): Promise<string> {
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return `127.0.0.1:${port}`;
}

/** Our four services with canned handlers, health, and reflection as startService wires them. */
async function startSwitchyardServer(): Promise<{ server: grpc.Server; address: string }> {
  const server = new grpc.Server();
  new HealthImplementation({ '': 'SERVING', 'switchyard.user.v1.UserService': 'SERVING' }).addToServer(server);
  server.addService(userV1.UserServiceService, {
    createUser: (call: grpc.ServerUnaryCall<userV1.CreateUserRequest, userV1.CreateUserResponse>, callback: grpc.sendUnaryData<userV1.CreateUserResponse>) =>
      callback(null, { user: { ...ADA, name: call.request.name, email: call.request.email } }),
    getUser: (call: grpc.ServerUnaryCall<userV1.GetUserRequest, userV1.GetUserResponse>, callback: grpc.sendUnaryData<userV1.GetUserResponse>) =>
      call.request.id === ADA.id ? callback(null, { user: ADA }) : callback(notFound(`user ${call.request.id} not found`)),
  });
  server.addService(orderV1.OrderServiceService, {
    getOrder: (_call: unknown, callback: grpc.sendUnaryData<orderV1.GetOrderResponse>) => callback(null, { order: ORDER }),
  });
  server.addService(gatewayV1.GatewayServiceService, {
    getUserWithOrders: (_call: unknown, callback: grpc.sendUnaryData<gatewayV1.GetUserWithOrdersResponse>) =>
      callback(null, { user: ADA, orders: [ORDER], nextPageToken: '', partialFailures: [] }),
  });
  server.addService(registryV1.RegistryServiceService, {
    watch: (call: grpc.ServerWritableStream<registryV1.WatchRequest, registryV1.WatchResponse>) => {
      call.write({ type: registryV1.WatchEventType.WATCH_EVENT_TYPE_SNAPSHOT, instances: [] });
      call.write({ type: registryV1.WatchEventType.WATCH_EVENT_TYPE_REMOVE, instances: [] });
      call.end();
    },
  });
  addReflection(server, { descriptorSetBase64, services: SERVICES });
  return { server, address: await listen(server) };
}

/** Every message type a message reaches through its fields. */
function reachableMessages(message: DescMessage, into = new Set<string>()): Set<string> {
  if (into.has(message.typeName)) return into;
  into.add(message.typeName);
  for (const field of message.fields) {
    if (field.fieldKind === 'message' || (field.fieldKind === 'list' && field.listKind === 'message')) reachableMessages(field.message, into);
    if (field.fieldKind === 'map' && field.mapKind === 'message') reachableMessages(field.message, into);
  }
  return into;
}

let server: grpc.Server;
let address: string;
const connections: ReflectionConnection[] = [];
const connect = (target: string, version?: 'v1' | 'v1alpha') => {
  const connection = connectReflection(target, { version });
  connections.push(connection);
  return connection;
};

beforeAll(async () => {
  ({ server, address } = await startSwitchyardServer());
});

afterAll(() => {
  for (const connection of connections) connection.close();
  server.forceShutdown();
});

describe('strict reflection client against addReflection', () => {
  it('lists exactly the served services', async () => {
    expect((await connect(address).listServices()).sort()).toEqual([...SERVICES].sort());
  });

  it("resolves every method's input and output types, google.protobuf imports and cross-package types included", async () => {
    const client = connect(address);
    const reached = new Set<string>();
    for (const name of SERVICES) {
      const service = await client.describe(name);
      expect(service.kind).toBe('service');
      if (service.kind !== 'service') continue;
      expect(service.methods.length).toBeGreaterThan(0);
      for (const method of service.methods) {
        reachableMessages(method.input, reached);
        reachableMessages(method.output, reached);
      }
    }
    expect([...reached]).toEqual(
      expect.arrayContaining([
        'google.protobuf.Timestamp',
        'google.protobuf.Duration',
        'switchyard.user.v1.User',
        'switchyard.order.v1.Order',
        'switchyard.gateway.v1.GetUserWithOrdersResponse',
        'switchyard.registry.v1.Instance',
        'grpc.health.v1.HealthCheckResponse',
        'grpc.reflection.v1.ServerReflectionResponse',
      ]),
    );
    expect(client.files()).toEqual(
      expect.arrayContaining(['google/protobuf/timestamp.proto', 'google/protobuf/duration.proto', 'switchyard/gateway/v1/gateway_service.proto']),
    );

    const gateway = await client.describe('switchyard.gateway.v1.GatewayService.GetUserWithOrders');
    expect(gateway.kind === 'rpc' && gateway.output.field.user.message?.typeName).toBe('switchyard.user.v1.User');
    const order = await client.describe('switchyard.order.v1.Order');
    expect(order.kind === 'message' && order.field.createTime.message?.typeName).toBe('google.protobuf.Timestamp');
  });

  it('invokes unary calls from JSON and returns proto3 JSON', async () => {
    const client = connect(address);
    const created = await client.invoke('switchyard.user.v1.UserService.CreateUser', { name: 'Grace', email: 'grace@example.com' });
    expect(created.json).toEqual({ user: { id: 'u-1', name: 'Grace', email: 'grace@example.com', createTime: '2024-05-01T12:00:00Z' } });
    expect(created.status.code).toBe(grpc.status.OK);

    const joined = await client.invoke('/switchyard.gateway.v1.GatewayService/GetUserWithOrders', { userId: 'u-1' }, { deadlineMs: 5000 });
    expect(joined.json).toEqual({
      user: { id: 'u-1', name: 'Ada', email: 'ada@example.com', createTime: '2024-05-01T12:00:00Z' },
      orders: [{ id: 'o-1', userId: 'u-1', items: [{ sku: 'sku-1', quantity: 2, unitPriceCents: '150' }], totalCents: '300', createTime: '2024-05-01T12:00:00Z', requestId: 'r-1' }],
    });
    const health = await client.invoke('grpc.health.v1.Health.Check', { service: '' });
    expect(health.json).toEqual({ status: 'SERVING' });
  });

  it('collects a server stream', async () => {
    const watched = await connect(address).invoke('switchyard.registry.v1.RegistryService.Watch', { serviceName: 'user' });
    expect(watched.messages).toEqual([{ type: 'WATCH_EVENT_TYPE_SNAPSHOT' }, { type: 'WATCH_EVENT_TYPE_REMOVE' }]);
  });

  it('surfaces gRPC errors as ServiceErrors and unknown symbols as NOT_FOUND', async () => {
    const client = connect(address);
    await expect(client.invoke('switchyard.user.v1.UserService.GetUser', { id: 'nobody' })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
      details: 'user nobody not found',
    });
    await expect(client.describe('switchyard.nope.v1.Nope')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(client.invoke('switchyard.user.v1.UserService.Nope', {})).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
  });

  it('works over v1alpha too', async () => {
    const client = connect(address, 'v1alpha');
    expect((await client.listServices()).sort()).toEqual([...SERVICES].sort());
    const order = await client.describe('switchyard.order.v1.OrderService');
    expect(order.kind === 'service' && order.method.getOrder.output.field.order.message?.field.createTime.message?.typeName).toBe(
      'google.protobuf.Timestamp',
    );
    expect((await client.invoke('switchyard.order.v1.OrderService.GetOrder', { id: 'o-1' })).json).toMatchObject({ order: { id: 'o-1' } });
  });
});

describe('the client is strict', () => {
  const servers: grpc.Server[] = [];
  afterAll(() => servers.forEach((extra) => extra.forceShutdown()));

  async function serveReflection(reflection: ReflectionService): Promise<string> {
    const extra = new grpc.Server();
    servers.push(extra);
    reflection.addToServer(extra);
    return listen(extra);
  }

  it("rejects proto-loader's made-up files (one per package, no dependency list)", async () => {
    // What @grpc/reflection serves when fed proto-loader's package definition, as its README shows.
    const madeUp = loadSync(['switchyard/order/v1/order_service.proto', 'switchyard/gateway/v1/gateway_service.proto'], { includeDirs: [PROTOS_DIR] });
    const target = await serveReflection(new ReflectionService(madeUp));
    const client = connect(target);
    expect(await client.listServices()).toContain('switchyard.order.v1.OrderService');
    await expect(client.describe('switchyard.order.v1.OrderService')).rejects.toThrow(/switchyard_order_v1\.proto \(imports: none\) does not resolve/);
  });

  it('rejects a server that cannot serve an imported file', async () => {
    const set = fromBinary(FileDescriptorSetSchema, Buffer.from(descriptorSetBase64, 'base64'));
    const files = set.file.filter((file) => file.name !== 'google/protobuf/timestamp.proto');
    const fileDescriptorProtos = files.map((file) => Buffer.from(toBinary(FileDescriptorProtoSchema, create(FileDescriptorProtoSchema, file))));
    // @grpc/reflection warns about the type it cannot place; expected here.
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const reflection = new ReflectionService({ set: { format: 'Protocol Buffer 3 DescriptorProto', type: {}, fileDescriptorProtos } });
    warn.mockRestore();
    const client = connect(await serveReflection(reflection));
    await expect(client.describe('switchyard.user.v1.UserService')).rejects.toThrow(/cannot fetch google\/protobuf\/timestamp\.proto/);
  });
});

const grpcurl = findGrpcurl();
const withGrpcurl = grpcurl ? describe : describe.skip;
if (!grpcurl) console.log(`skipped: grpcurl not found at ${grpcurlCandidates().join(' or ')} (set GRPCURL to run the grpcurl checks)`);

withGrpcurl('grpcurl against addReflection', () => {
  const run = (...args: string[]) => runGrpcurl(['-plaintext', ...args]);

  it('lists the services', async () => {
    const listed = await run(address, 'list');
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    expect(listed.stdout.trim().split('\n').sort()).toEqual([...SERVICES].sort());
  });

  it('describes every service, a service across packages, and a message with a Timestamp', async () => {
    const all = await run(address, 'describe');
    expect(all).toMatchObject({ code: 0, stderr: '' });
    expect(all.stdout).toContain('grpc.health.v1.Health is a service');

    const gateway = await run(address, 'describe', 'switchyard.gateway.v1.GatewayService');
    expect(gateway).toMatchObject({ code: 0, stderr: '' });
    expect(gateway.stdout).toContain('rpc GetUserWithOrders ( .switchyard.gateway.v1.GetUserWithOrdersRequest ) returns ( .switchyard.gateway.v1.GetUserWithOrdersResponse )');

    const order = await run(address, 'describe', 'switchyard.order.v1.Order');
    expect(order).toMatchObject({ code: 0, stderr: '' });
    expect(order.stdout).toContain('.google.protobuf.Timestamp create_time = 5;');

    const health = await run(address, 'describe', 'grpc.health.v1.HealthListResponse');
    expect(health).toMatchObject({ code: 0, stderr: '' });
    expect(health.stdout).toContain('map<string, .grpc.health.v1.HealthCheckResponse> statuses = 1;');
  });

  it('calls a method with -d JSON', async () => {
    const created = await run('-d', '{"name":"Grace","email":"grace@example.com"}', address, 'switchyard.user.v1.UserService/CreateUser');
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(created.stdout)).toEqual({ user: { id: 'u-1', name: 'Grace', email: 'grace@example.com', createTime: '2024-05-01T12:00:00Z' } });

    const health = await run('-d', '{"service":""}', address, 'grpc.health.v1.Health/Check');
    expect(JSON.parse(health.stdout)).toEqual({ status: 'SERVING' });

    const missing = await run('-d', '{"id":"nobody"}', address, 'switchyard.user.v1.UserService/GetUser');
    expect(missing.code).toBe(64 + grpc.status.NOT_FOUND);
    expect(missing.stderr).toContain('Code: NotFound');
  });

  it("fails, like the strict client, on proto-loader's made-up files", async () => {
    const madeUp = new grpc.Server();
    new ReflectionService(loadSync('switchyard/order/v1/order_service.proto', { includeDirs: [PROTOS_DIR] })).addToServer(madeUp);
    const target = await listen(madeUp);
    try {
      const described = await run(target, 'describe', 'switchyard.order.v1.Order');
      expect(described.code).not.toBe(0);
      expect(described.stderr).toMatch(/google\.protobuf\.Timestamp/);
      console.log(`grpcurl on proto-loader's made-up files: ${described.stderr.trim()}`);
    } finally {
      madeUp.forceShutdown();
    }
  });
});
