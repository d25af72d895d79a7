import { dirname, join } from 'node:path';
import {
  create,
  createFileRegistry,
  fromBinary,
  fromJson,
  toBinary,
  toJson,
  type DescEnum,
  type DescExtension,
  type DescMessage,
  type DescMethod,
  type DescService,
  type FileRegistry,
  type JsonValue,
} from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

export type ReflectionVersion = 'v1' | 'v1alpha';

/** What `describe` resolves a fully-qualified name to. */
export type DescribedSymbol = DescService | DescMethod | DescMessage | DescEnum | DescExtension;

export interface InvokeOptions {
  /** Request metadata (headers). */
  metadata?: Record<string, string> | grpc.Metadata;
  /** Deadline from now; none when omitted. */
  deadlineMs?: number;
  /** Server streaming: stop (cancel) after this many messages. Default 100. */
  maxMessages?: number;
}

export interface InvokeResult {
  /** The response, or the first streamed message, in proto3 JSON (json_name keys, as grpcurl prints); null when none came. */
  json: JsonValue;
  /** Every message received: one for a unary call, up to `maxMessages` for server streaming. */
  messages: JsonValue[];
  headers: grpc.Metadata;
  /** The final status (OK here: a failed call rejects with a grpc-js ServiceError). */
  status: grpc.StatusObject;
}

export interface ReflectionConnection {
  /** list_services: fully-qualified service names. */
  listServices(): Promise<string[]>;
  /**
   * Fetches the file defining `symbol` and every file it imports, by name, and builds them into a
   * registry; rejects if the server serves a file whose imports or type references do not resolve.
   */
  describe(symbol: string): Promise<DescribedSymbol>;
  /** Every file fetched so far, by name. */
  files(): string[];
  /** Calls a unary or server-streaming method named `pkg.Service.Method` or `/pkg.Service/Method`. */
  invoke(method: string, requestJson: object, options?: InvokeOptions): Promise<InvokeResult>;
  close(): void;
}

interface ReflectionResponse {
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] } | null;
  listServicesResponse?: { service: { name: string }[] } | null;
  errorResponse?: { errorCode: number; errorMessage: string } | null;
}

type ReflectionStub = grpc.Client & { ServerReflectionInfo(): grpc.ClientDuplexStream<object, ReflectionResponse> };

const REFLECTION_PROTO_DIR = join(dirname(require.resolve('@grpc/reflection')), '..', 'proto');

function reflectionStubConstructor(version: ReflectionVersion): new (address: string, credentials: grpc.ChannelCredentials) => ReflectionStub {
  const definition = loadSync(`grpc/reflection/${version}/reflection.proto`, { includeDirs: [REFLECTION_PROTO_DIR], oneofs: true });
  const service = definition[`grpc.reflection.${version}.ServerReflection`] as grpc.ServiceDefinition;
  return grpc.makeGenericClientConstructor(service, 'ServerReflection') as unknown as new (
    address: string,
    credentials: grpc.ChannelCredentials,
  ) => ReflectionStub;
}

/** The error a failed grpc-js call gives, for reflection's own error_response too. */
function serviceError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), { code, details, metadata: new grpc.Metadata() });
}

/**
 * A strict, reflection-driven client, like grpcurl: it knows nothing but what the server's
 * reflection serves, follows every import by file name, and builds the files with
 * @bufbuild/protobuf, which rejects an unresolved import or type. A server serving proto-loader's
 * made-up files (one per package, no dependency list) fails here as it fails in grpcurl.
 */
export function connectReflection(
  address: string,
  options: { version?: ReflectionVersion; credentials?: grpc.ChannelCredentials } = {},
): ReflectionConnection {
  const credentials = options.credentials ?? grpc.credentials.createInsecure();
  const Stub = reflectionStubConstructor(options.version ?? 'v1');
  const reflection = new Stub(address, credentials);
  const channel = new grpc.Client(address, credentials);
  const fetched = new Map<string, FileDescriptorProto>();
  const registries = new Map<string, FileRegistry>();

  // One reflection stream, as grpcurl keeps; answers come back in request order.
  let stream: grpc.ClientDuplexStream<object, ReflectionResponse> | undefined;
  const waiting: { resolve(response: ReflectionResponse): void; reject(error: Error): void }[] = [];
  const ask = (request: object): Promise<ReflectionResponse> => {
    if (!stream) {
      const opened = reflection.ServerReflectionInfo();
      opened.on('data', (response: ReflectionResponse) => waiting.shift()?.resolve(response));
      opened.on('error', (error: Error) => {
        stream = undefined;
        for (const waiter of waiting.splice(0)) waiter.reject(error);
      });
      opened.on('end', () => {
        stream = undefined;
        for (const waiter of waiting.splice(0)) waiter.reject(serviceError(grpc.status.UNAVAILABLE, 'reflection stream ended'));
      });
      stream = opened;
    }
    const answer = new Promise<ReflectionResponse>((resolve, reject) => waiting.push({ resolve, reject }));
    stream.write(request);
    return answer.then((response) => {
      if (response.errorResponse) throw serviceError(response.errorResponse.errorCode, response.errorResponse.errorMessage);
      return response;
    });
  };

  /** Stores the files of one answer; returns the name of the first (the one asked for). */
  const store = (response: ReflectionResponse, asked: string): string => {
    const files = (response.fileDescriptorResponse?.fileDescriptorProto ?? []).map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
    if (files.length === 0) throw new Error(`reflection: empty file_descriptor_response for ${asked}`);
    for (const file of files) if (!fetched.has(file.name)) fetched.set(file.name, file);
    return files[0].name;
  };

  const fetchImports = async (name: string): Promise<void> => {
    const pending = [name];
    const seen = new Set<string>();
    while (pending.length > 0) {
      const current = pending.pop() as string;
      if (seen.has(current)) continue;
      seen.add(current);
      if (!fetched.has(current)) {
        try {
          store(await ask({ fileByFilename: current }), current);
        } catch (error) {
          throw new Error(`reflection: cannot fetch ${current}, imported by a file the server served (${(error as Error).message})`);
        }
      }
      pending.push(...(fetched.get(current)?.dependency ?? []));
    }
  };

  /**
   * `name` and what it imports, transitively, each file after its imports. (createFileRegistry's
   * resolver form orders them breadth first, which fails when two files share an import, as
   * user_service.proto and gateway_service.proto share google/api/annotations.proto.)
   */
  const importsFirst = (name: string): FileDescriptorProto[] => {
    const ordered: FileDescriptorProto[] = [];
    const visited = new Set<string>();
    const visit = (current: string) => {
      if (visited.has(current)) return;
      visited.add(current);
      const file = fetched.get(current);
      if (!file) throw new Error(`Cannot find ${current}`);
      file.dependency.forEach(visit);
      ordered.push(file);
    };
    visit(name);
    return ordered;
  };

  /** A registry of `name` and only what it imports, so a type it uses without importing fails. */
  const registryOf = (name: string): FileRegistry => {
    let registry = registries.get(name);
    if (!registry) {
      const file = fetched.get(name) as FileDescriptorProto;
      try {
        registry = createFileRegistry(create(FileDescriptorSetSchema, { file: importsFirst(name) }));
      } catch (error) {
        const reason = (error as Error).message || 'a type it references is defined neither in it nor in its imports';
        throw new Error(`reflection: ${name} (imports: ${file.dependency.join(', ') || 'none'}) does not resolve: ${reason}`);
      }
      registries.set(name, registry);
    }
    return registry;
  };

  const resolve = async (symbol: string): Promise<{ described: DescribedSymbol; registry: FileRegistry }> => {
    const name = store(await ask({ fileContainingSymbol: symbol }), symbol);
    await fetchImports(name);
    const registry = registryOf(name);
    const parent = symbol.slice(0, symbol.lastIndexOf('.'));
    const described =
      registry.get(symbol) ?? registry.getService(parent)?.methods.find((method) => `${parent}.${method.name}` === symbol);
    if (!described) throw new Error(`reflection: ${name} was served for ${symbol} but does not define it`);
    return { described, registry };
  };

  const invoke = async (methodName: string, requestJson: object, invokeOptions: InvokeOptions = {}): Promise<InvokeResult> => {
    const fullName = methodName.replace(/^\//, '').replace('/', '.');
    const serviceName = fullName.slice(0, fullName.lastIndexOf('.'));
    const { described: service, registry } = await resolve(serviceName);
    if (service.kind !== 'service') throw new Error(`${serviceName} is a ${service.kind}, not a service`);
    const method = service.methods.find((candidate) => `${serviceName}.${candidate.name}` === fullName);
    if (!method) throw serviceError(grpc.status.UNIMPLEMENTED, `${serviceName} has no method ${fullName.slice(serviceName.length + 1)}`);

    const path = `/${serviceName}/${method.name}`;
    const request = fromJson(method.input, requestJson as JsonValue, { registry });
    const serialize = (): Buffer => Buffer.from(toBinary(method.input, request));
    const deserialize = (bytes: Buffer): JsonValue => toJson(method.output, fromBinary(method.output, bytes), { registry });
    const metadata = invokeOptions.metadata instanceof grpc.Metadata ? invokeOptions.metadata : new grpc.Metadata();
    if (!(invokeOptions.metadata instanceof grpc.Metadata)) {
      for (const [key, value] of Object.entries(invokeOptions.metadata ?? {})) metadata.set(key, value);
    }
    const callOptions: grpc.CallOptions = invokeOptions.deadlineMs === undefined ? {} : { deadline: Date.now() + invokeOptions.deadlineMs };

    let headers = new grpc.Metadata();
    if (method.methodKind === 'unary') {
      return new Promise((done, fail) => {
        let response: JsonValue = null;
        let error: grpc.ServiceError | null = null;
        const call = channel.makeUnaryRequest(path, serialize, deserialize, request, metadata, callOptions, (callError, value) => {
          error = callError;
          response = value ?? null;
        });
        call.on('metadata', (received) => (headers = received));
        // 'status' comes after the callback, with the trailers.
        call.on('status', (status) => (error ? fail(error) : done({ json: response, messages: [response], headers, status })));
      });
    }
    if (method.methodKind === 'server_streaming') {
      const maxMessages = invokeOptions.maxMessages ?? 100;
      return new Promise((done, fail) => {
        const messages: JsonValue[] = [];
        let cancelled = false;
        const call = channel.makeServerStreamRequest(path, serialize, deserialize, request, metadata, callOptions);
        call.on('metadata', (received) => (headers = received));
        call.on('data', (message: JsonValue) => {
          if (messages.length < maxMessages) messages.push(message);
          if (messages.length >= maxMessages && !cancelled) {
            cancelled = true;
            call.cancel();
          }
        });
        call.on('error', (error: grpc.ServiceError) => {
          if (!(cancelled && error.code === grpc.status.CANCELLED)) fail(error);
        });
        call.on('status', (status) => {
          if (status.code === grpc.status.OK || (cancelled && status.code === grpc.status.CANCELLED)) {
            done({ json: messages[0] ?? null, messages, headers, status });
          }
        });
      });
    }
    throw new Error(`${fullName} is ${method.methodKind}; only unary and server-streaming calls are supported`);
  };

  return {
    listServices: async () => (await ask({ listServices: '*' })).listServicesResponse?.service.map((service) => service.name) ?? [],
    describe: async (symbol) => (await resolve(symbol)).described,
    files: () => [...fetched.keys()],
    invoke,
    close: () => {
      stream?.end();
      reflection.close();
      channel.close();
    },
  };
}
