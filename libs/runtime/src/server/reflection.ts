import { create, createFileRegistry, fromBinary, toBinary } from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import type { Server } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
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
 */
export function addReflection(server: Server, options: ReflectionOptions): void {
  const fileDescriptorProtos = servedFiles(options.descriptorSetBase64, options.services).map((file) =>
    Buffer.from(toBinary(FileDescriptorProtoSchema, file)),
  );
  // The package definition only carries fileDescriptorProtos: @grpc/reflection indexes the files
  // of every entry.
  const carrier = { format: 'Protocol Buffer 3 DescriptorProto' as const, type: {}, fileDescriptorProtos };
  const reflection = new ReflectionService({ 'switchyard.descriptor_set': carrier }, { services: options.services });
  linkDeclaredImports(reflection, rawFilesOf(options.descriptorSetBase64));
  reflection.addToServer(server);
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

/** Each file of a FileDescriptorSet (field 1, repeated) as the bytes it was written with, by name. */
function rawFilesOf(descriptorSetBase64: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const reader = new BinaryReader(Buffer.from(descriptorSetBase64, 'base64'));
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    if (fieldNo !== 1 || wireType !== WireType.LengthDelimited) {
      reader.skip(wireType);
      continue;
    }
    const bytes = Buffer.from(reader.bytes());
    files.set(fromBinary(FileDescriptorProtoSchema, bytes).name, bytes);
  }
  return files;
}

/**
 * The set's files as buf wrote them (real names and dependency lists, google/protobuf imports
 * included), then health's and reflection's. Throws rather than serve what a strict client would
 * reject later: a set that does not resolve on its own, or a listed service with no descriptor.
 */
function servedFiles(descriptorSetBase64: string, services: readonly string[]): FileDescriptorProto[] {
  const set = fromBinary(FileDescriptorSetSchema, Buffer.from(descriptorSetBase64, 'base64'));
  const files = new Map<string, FileDescriptorProto>(set.file.map((file) => [file.name, file]));
  for (const file of grpcFileDescriptors()) if (!files.has(file.name)) files.set(file.name, file);

  let registry;
  try {
    // buf writes files in dependency order and the grpc ones import nothing, so the set registers
    // as it is; an unresolved import or type name throws.
    registry = createFileRegistry(create(FileDescriptorSetSchema, { file: [...files.values()] }));
  } catch (error) {
    throw new Error(`reflection: the descriptor set does not resolve on its own (${(error as Error).message || 'a referenced type is missing'})`);
  }
  const undescribed = services.filter((name) => registry.getService(name) === undefined);
  if (undescribed.length > 0) {
    throw new Error(`reflection: no descriptor for ${undescribed.join(', ')}; regenerate the descriptor set (nx run proto:generate)`);
  }
  return [...files.values()];
}
