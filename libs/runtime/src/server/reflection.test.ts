import { dirname, join } from 'node:path';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { descriptorSetBase64 } from '@switchyard/proto';
import { Reader } from 'protobufjs';
import { addReflection } from './reflection';

// A raw reflection stub (no descriptor handling of its own) so these tests see the wire answers.
const protoDir = join(dirname(require.resolve('@grpc/reflection')), '..', 'proto');
const loaded = grpc.loadPackageDefinition(
  loadSync(['grpc/reflection/v1/reflection.proto', 'grpc/reflection/v1alpha/reflection.proto'], { includeDirs: [protoDir], oneofs: true }),
) as unknown as { grpc: { reflection: Record<'v1' | 'v1alpha', { ServerReflection: grpc.ServiceClientConstructor }> } };

interface ReflectionResponse {
  listServicesResponse?: { service: { name: string }[] };
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

const SERVICES = [
  'switchyard.user.v1.UserService',
  'switchyard.order.v1.OrderService',
  'switchyard.gateway.v1.GatewayService',
  'switchyard.registry.v1.RegistryService',
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
];

/** Each FileDescriptorProto of the set exactly as buf encoded it, by file name. */
function rawSetFiles(): Map<string, Buffer> {
  const reader = Reader.create(Buffer.from(descriptorSetBase64, 'base64'));
  const files = new Map<string, Buffer>();
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 !== 1) {
      reader.skipType(tag & 7);
      continue;
    }
    const bytes = Buffer.from(reader.bytes());
    files.set(fromBinary(FileDescriptorProtoSchema, bytes).name, bytes);
  }
  return files;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: grpc.Server;
let address: string;
const clients: grpc.Client[] = [];

beforeAll(async () => {
  server = new grpc.Server();
  addReflection(server, { descriptorSetBase64, services: SERVICES });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  address = `127.0.0.1:${port}`;
});

afterAll(() => {
  for (const client of clients) client.close();
  server.forceShutdown();
});

function ask(request: object, version: 'v1' | 'v1alpha' = 'v1', to = address): Promise<ReflectionResponse> {
  const client = new loaded.grpc.reflection[version].ServerReflection(to, grpc.credentials.createInsecure());
  clients.push(client);
  const call = (client as unknown as { ServerReflectionInfo(): grpc.ClientDuplexStream<object, ReflectionResponse> }).ServerReflectionInfo();
  return new Promise((resolve, reject) => {
    call.once('data', (response: ReflectionResponse) => {
      resolve(response);
      call.end();
    });
    call.once('error', reject);
    call.write(request);
  });
}

async function fileNames(request: object, version: 'v1' | 'v1alpha' = 'v1'): Promise<string[]> {
  const response = await ask(request, version);
  return (response.fileDescriptorResponse?.fileDescriptorProto ?? []).map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name);
}

describe('addReflection', () => {
  it.each(['v1', 'v1alpha'] as const)('lists exactly the services it was given (%s)', async (version) => {
    const response = await ask({ listServices: '*' }, version);
    expect(response.listServicesResponse?.service.map((service) => service.name).sort()).toEqual([...SERVICES].sort());
  });

  it('answers file_containing_symbol with the file first, then its transitive imports, bytes as buf wrote them', async () => {
    const response = await ask({ fileContainingSymbol: 'switchyard.gateway.v1.GatewayService' });
    const served = response.fileDescriptorResponse?.fileDescriptorProto ?? [];
    const names = served.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name);
    expect(names[0]).toBe('switchyard/gateway/v1/gateway_service.proto');
    // google/api/annotations.proto is imported for options alone (google.api.http), and served too.
    expect(names.slice(1).sort()).toEqual([
      'google/api/annotations.proto',
      'google/api/http.proto',
      'google/protobuf/descriptor.proto',
      'google/protobuf/timestamp.proto',
      'switchyard/order/v1/order_service.proto',
      'switchyard/user/v1/user_service.proto',
    ]);
    const raw = rawSetFiles();
    for (const [index, bytes] of served.entries()) expect(Buffer.compare(bytes, raw.get(names[index]) ?? Buffer.alloc(0))).toBe(0);
    // The real dependency list is kept, which is what strict clients follow.
    expect(fromBinary(FileDescriptorProtoSchema, served[0]).dependency).toEqual([
      'google/api/annotations.proto',
      'switchyard/order/v1/order_service.proto',
      'switchyard/user/v1/user_service.proto',
    ]);
  });

  it('resolves messages, methods and well-known types to their real files (v1 and v1alpha)', async () => {
    const annotations = ['google/api/annotations.proto', 'google/api/http.proto', 'google/protobuf/descriptor.proto'];
    const orderNames = await fileNames({ fileContainingSymbol: 'switchyard.order.v1.Order' });
    expect(orderNames[0]).toBe('switchyard/order/v1/order_service.proto');
    expect(orderNames.slice(1).sort()).toEqual([...annotations, 'google/protobuf/timestamp.proto']);
    const userNames = await fileNames({ fileContainingSymbol: 'switchyard.user.v1.UserService.CreateUser' }, 'v1alpha');
    expect(userNames[0]).toBe('switchyard/user/v1/user_service.proto');
    expect(userNames.slice(1).sort()).toEqual([...annotations, 'google/protobuf/timestamp.proto']);
    expect(await fileNames({ fileContainingSymbol: 'google.protobuf.Timestamp' })).toEqual(['google/protobuf/timestamp.proto']);
  });

  it('serves google.rpc.Status and BadRequest, so clients can decode the details of an INVALID_ARGUMENT', async () => {
    expect(await fileNames({ fileContainingSymbol: 'google.rpc.BadRequest' })).toEqual(['google/rpc/error_details.proto', 'google/protobuf/duration.proto']);
    expect(await fileNames({ fileContainingSymbol: 'google.rpc.Status' })).toEqual(['google/rpc/status.proto', 'google/protobuf/any.proto']);
  });

  it('answers file_by_filename with the file and its imports', async () => {
    const names = await fileNames({ fileByFilename: 'switchyard/registry/v1/registry_service.proto' });
    expect(names[0]).toBe('switchyard/registry/v1/registry_service.proto');
    expect(names.slice(1).sort()).toEqual(['google/protobuf/duration.proto', 'google/protobuf/timestamp.proto']);
  });

  it('serves a descriptor for the health and reflection services too', async () => {
    for (const symbol of ['grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection']) {
      const response = await ask({ fileContainingSymbol: symbol });
      const files = (response.fileDescriptorResponse?.fileDescriptorProto ?? []).map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
      expect(files).toHaveLength(1);
      expect(files[0].dependency).toEqual([]);
      expect(files[0].name).toMatch(/^grpc\/(health|reflection)\//);
      expect(files[0].service.map((service) => `${files[0].package}.${service.name}`)).toContain(symbol);
    }
  });

  it('serves the health file as protoc would write it: implicit map entry names and JSON names', async () => {
    const response = await ask({ fileByFilename: 'grpc/health/v1/health.proto' });
    const [health] = (response.fileDescriptorResponse?.fileDescriptorProto ?? []).map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
    const list = health.messageType.find((message) => message.name === 'HealthListResponse');
    expect(list?.nestedType.map((nested) => nested.name)).toEqual(['StatusesEntry']);
    expect(list?.field[0]).toMatchObject({ name: 'statuses', jsonName: 'statuses', typeName: '.grpc.health.v1.HealthListResponse.StatusesEntry' });
    const reflection = await ask({ fileByFilename: 'grpc/reflection/v1/reflection.proto' });
    const [file] = (reflection.fileDescriptorResponse?.fileDescriptorProto ?? []).map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
    const request = file.messageType.find((message) => message.name === 'ServerReflectionRequest');
    expect(request?.field.find((field) => field.number === 3)).toMatchObject({ name: 'file_by_filename', jsonName: 'fileByFilename' });
    expect(request?.field.find((field) => field.number === 5)?.typeName).toBe('.grpc.reflection.v1.ExtensionRequest');
  });

  it.each([
    ['an unknown symbol', { fileContainingSymbol: 'switchyard.nope.v1.Missing' }],
    ['an unknown file', { fileByFilename: 'nope.proto' }],
    ['an extension (proto3 files declare none)', { fileContainingExtension: { containingType: 'switchyard.order.v1.Order', extensionNumber: 100 } }],
    ['extension numbers of a type', { allExtensionNumbersOfType: 'switchyard.order.v1.Order' }],
  ])('answers %s with an error_response NOT_FOUND', async (_name, request) => {
    const response = await ask(request);
    expect(response.errorResponse?.errorCode).toBe(grpc.status.NOT_FOUND);
  });

  it('indexes the files at the first reflection call, once for both versions, not when added', async () => {
    const indexed = jest.spyOn(ReflectionService.prototype, 'addToServer');
    const own = new grpc.Server();
    try {
      addReflection(own, { descriptorSetBase64, services: SERVICES });
      const port = await new Promise<number>((resolve, reject) =>
        own.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
      );
      expect(indexed).not.toHaveBeenCalled();
      for (const version of ['v1', 'v1alpha'] as const) {
        const response = await ask({ listServices: '' }, version, `127.0.0.1:${port}`);
        expect(response.listServicesResponse?.service.map((service) => service.name).sort()).toEqual([...SERVICES].sort());
      }
      expect(indexed).toHaveBeenCalledTimes(1);
    } finally {
      indexed.mockRestore();
      own.forceShutdown();
    }
  });

  it('ends the streams clients keep open, so a stop does not wait for them', async () => {
    const own = new grpc.Server();
    try {
      const reflection = addReflection(own, { descriptorSetBase64, services: SERVICES });
      const port = await new Promise<number>((resolve, reject) =>
        own.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
      );
      const client = new loaded.grpc.reflection.v1.ServerReflection(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      clients.push(client);
      // A stream kept open after its answer, as grpcurl and connectReflection keep one.
      const call = (client as unknown as { ServerReflectionInfo(): grpc.ClientDuplexStream<object, ReflectionResponse> }).ServerReflectionInfo();
      const ended = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
      call.on('error', () => undefined);
      const answered = new Promise<ReflectionResponse>((resolve) => call.once('data', resolve));
      call.write({ listServices: '' });
      expect((await answered).listServicesResponse?.service).toHaveLength(SERVICES.length);

      // tryShutdown waits for every call, this stream too, until the stream ends.
      let stopped = false;
      const stopping = new Promise<void>((resolve) => own.tryShutdown(() => resolve())).then(() => (stopped = true));
      await sleep(200);
      expect(stopped).toBe(false);
      reflection.endStreams();
      expect((await ended).code).toBe(grpc.status.OK);
      await stopping;
    } finally {
      // Left running only when the test failed: the stream held the stop.
      own.forceShutdown();
    }
  });

  it('refuses to start when a listed service has no descriptor', () => {
    expect(() => addReflection(new grpc.Server(), { descriptorSetBase64, services: ['switchyard.nope.v1.NopeService'] })).toThrow(
      /no descriptor for switchyard\.nope\.v1\.NopeService/,
    );
  });

  it('refuses to start when the set lacks an import', () => {
    const set = fromBinary(FileDescriptorSetSchema, Buffer.from(descriptorSetBase64, 'base64'));
    const withoutTimestamp = create(FileDescriptorSetSchema, { file: set.file.filter((file) => file.name !== 'google/protobuf/timestamp.proto') });
    const base64 = Buffer.from(toBinary(FileDescriptorSetSchema, withoutTimestamp)).toString('base64');
    expect(() => addReflection(new grpc.Server(), { descriptorSetBase64: base64, services: [] })).toThrow(/does not resolve on its own/);
  });
});
