import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import type { MethodDefinition, Server, ServerDuplexStream, ServiceDefinition } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { descriptorRegistry, filesOfSet } from '../reflection/descriptor-registry';
import { grpcFileDescriptors } from './reflection-grpc-files';

export interface ReflectionOptions {
  /** google.protobuf.FileDescriptorSet from `buf build`, imports kept (`descriptorSetBase64` of @switchyard/proto). */
  descriptorSetBase64: string;
  /**
   * Fully-qualified names list_services answers with, exactly: the app's services, plus
   * grpc.health.v1.Health and the reflection services when the server has them.
   */
  services: string[];
}

/**
 * Serves grpc.reflection.v1.ServerReflection and grpc.reflection.v1alpha.ServerReflection from the
 * real file descriptors, so grpcurl and other strict clients can list, describe and call with no
 * .proto files.
 *
 * @grpc/reflection does the serving. Given proto-loader's package definitions it would serve one
 * made-up file per package with no dependency list (grpc-node #2595, grpcurl #459); given the raw
 * files of the buf set instead, it answers file_containing_symbol and file_by_filename with the
 * requested file first and then its transitive imports, and unknown symbols, files and extensions
 * with an error_response NOT_FOUND, as grpc-go does. Its list_services only names listed services
 * that have a descriptor, so a service without one fails here, at startup.
 *
 * Indexing every file takes about 200 ms of an app's start (@grpc/reflection decodes and
 * re-encodes each file once per version), and most processes are never asked: the index is built
 * at the first reflection call. What could make it fail is checked here.
 */
export function addReflection(server: Server, options: ReflectionOptions): ServedReflection {
  checkDescribed(options.descriptorSetBase64, options.services);
  const open = new Set<ServerDuplexStream<unknown, unknown>>();
  let versions: Map<string, CapturedService> | undefined;
  const version = (path: string) => {
    versions ??= indexedVersions(options);
    const captured = versions.get(path);
    if (!captured) throw new Error(`reflection: @grpc/reflection no longer serves ${path}`);
    return captured;
  };
  for (const path of REFLECTION_METHOD_PATHS) {
    server.addService(
      {
        ServerReflectionInfo: {
          path,
          requestStream: true,
          responseStream: true,
          originalName: 'serverReflectionInfo',
          requestSerialize: (value: unknown) => version(path).method.requestSerialize(value),
          requestDeserialize: (bytes: Buffer) => version(path).method.requestDeserialize(bytes),
          responseSerialize: (value: unknown) => version(path).method.responseSerialize(value),
          responseDeserialize: (bytes: Buffer) => version(path).method.responseDeserialize(bytes),
        },
      },
      {
        ServerReflectionInfo: (stream: ServerDuplexStream<unknown, unknown>) => {
          open.add(stream);
          const forget = () => open.delete(stream);
          for (const event of ['finish', 'cancelled', 'error', 'close']) stream.once(event, forget);
          version(path).handler(stream);
        },
      },
    );
  }
  return {
    endStreams() {
      for (const stream of open) {
        if (stream.writableEnded) continue;
        // Requests that arrive from here on go unanswered: the stream is closing.
        stream.removeAllListeners('data');
        stream.end();
      }
      open.clear();
    },
  };
}

export interface ServedReflection {
  /**
   * Ends the reflection streams clients keep open (grpcurl and reflection UIs keep one for their
   * next request), so that a stop does not wait its whole shutdown timeout for them. A client
   * opens a new stream for its next request.
   */
  endStreams(): void;
}

const REFLECTION_METHOD_PATHS = ['/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo'];
// The services of the files grpcFileDescriptors() adds to the set.
const GRPC_FILE_SERVICES = new Set(['grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection']);

/** The method and handler @grpc/reflection adds for one version, taken from its addToServer. */
interface CapturedService {
  method: MethodDefinition<unknown, unknown>;
  handler: (stream: ServerDuplexStream<unknown, unknown>) => void;
}

function indexedVersions(options: ReflectionOptions): Map<string, CapturedService> {
  const raw = rawFilesOf(options.descriptorSetBase64);
  // The set's files as buf wrote them (real names and dependency lists, google/protobuf imports
  // included), then health's and reflection's.
  const grpcFiles = grpcFileDescriptors()
    .filter((file) => !raw.has(file.name))
    .map((file) => Buffer.from(toBinary(FileDescriptorProtoSchema, file)));
  // The package definition only carries fileDescriptorProtos: @grpc/reflection indexes the files
  // of every entry.
  const carrier = { format: 'Protocol Buffer 3 DescriptorProto' as const, type: {}, fileDescriptorProtos: [...raw.values(), ...grpcFiles] };
  const reflection = new ReflectionService({ 'switchyard.descriptor_set': carrier }, { services: options.services });
  linkDeclaredImports(reflection, raw);
  const captured = new Map<string, CapturedService>();
  const capturing = {
    addService(definition: ServiceDefinition, implementation: Record<string, unknown>) {
      for (const [name, method] of Object.entries(definition)) {
        captured.set(method.path, { method, handler: implementation[name] as CapturedService['handler'] });
      }
    },
  };
  reflection.addToServer(capturing as unknown as Server);
  return captured;
}

/**
 * Throws rather than serve what a strict client would reject later: a set that does not resolve
 * on its own, or a listed service with no descriptor.
 */
function checkDescribed(descriptorSetBase64: string, services: readonly string[]): void {
  let registry;
  try {
    // buf writes files in dependency order, so the set registers as it is; an unresolved import
    // or type name throws. The grpc files import nothing.
    registry = descriptorRegistry(descriptorSetBase64);
  } catch (error) {
    throw new Error(`reflection: the descriptor set does not resolve on its own (${(error as Error).message || 'a referenced type is missing'})`);
  }
  const undescribed = services.filter((name) => !GRPC_FILE_SERVICES.has(name) && registry.getService(name) === undefined);
  if (undescribed.length > 0) {
    throw new Error(`reflection: no descriptor for ${undescribed.join(', ')}; regenerate the descriptor set (nx run proto:generate)`);
  }
}

/** The part of @grpc/reflection's per-version implementation that links files to their imports. */
interface FileIndex {
  files: Record<string, { dependency?: string[] }>;
  fileDependencies: Map<object, object[]>;
  fileEncodings: Map<object, Uint8Array>;
}

/**
 * @grpc/reflection links a file only to the files whose types it references (grpc-node #2595),
 * so an import used for options alone (google/api/annotations.proto, for google.api.http) would be
 * left out of its answers and strict clients fail to build the file: adds every declared import.
 * It also re-encodes each file, which moves extension options behind the others: serves the
 * set's own bytes instead.
 */
function linkDeclaredImports(reflection: ReflectionService, raw: ReadonlyMap<string, Buffer>): void {
  const { v1, v1Alpha } = reflection as unknown as { v1: FileIndex; v1Alpha: FileIndex };
  for (const index of [v1, v1Alpha]) {
    for (const [name, file] of Object.entries(index.files)) {
      const bytes = raw.get(name);
      if (bytes) index.fileEncodings.set(file, bytes);
      const linked = index.fileDependencies.get(file) ?? [];
      for (const name of file.dependency ?? []) {
        const imported = index.files[name];
        if (imported && !linked.includes(imported)) linked.push(imported);
      }
      index.fileDependencies.set(file, linked);
    }
  }
}

/** Each file of the set as the bytes it was written with, by name. */
function rawFilesOf(descriptorSetBase64: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const bytes of filesOfSet(Buffer.from(descriptorSetBase64, 'base64'))) {
    files.set(fromBinary(FileDescriptorProtoSchema, bytes).name, Buffer.from(bytes));
  }
  return files;
}
