import { dirname, join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, type DescriptorProto, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { loadSync, type ProtobufTypeDefinition } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';

// The .proto files the grpc packages ship, by the names grpc-go serves them under.
const GRPC_PROTOS: { name: string; path: string }[] = [
  { name: 'grpc/health/v1/health.proto', path: healthProtoPath },
  ...['v1', 'v1alpha'].map((version) => ({
    name: `grpc/reflection/${version}/reflection.proto`,
    // @grpc/reflection keeps its protos in build/proto, next to build/src.
    path: join(dirname(require.resolve('@grpc/reflection')), '..', 'proto', 'grpc', 'reflection', version, 'reflection.proto'),
  })),
];

/**
 * Descriptors of grpc.health.v1 and grpc.reflection.{v1,v1alpha}, which are not in our buf set.
 *
 * They are built with proto-loader (protobufjs) from the .proto files grpc-health-check and
 * @grpc/reflection ship; none imports anything. protobufjs writes descriptors protoc would not:
 * a made-up file name, relative type names, an empty json_name on every field (so JSON keys
 * come out as ""), and map entry types named `Statuses` instead of `StatusesEntry`, which grpcurl
 * rejects ("incorrect implicit map entry name"). The files are renamed and normalised here.
 */
export function grpcFileDescriptors(): FileDescriptorProto[] {
  return GRPC_PROTOS.map(({ name, path }) => {
    // keepCase: field names as written in the .proto (file_by_filename, not fileByFilename).
    const definition = loadSync(path, { keepCase: true });
    // Every message and enum entry carries the file(s) it was built from; services carry none.
    const [bytes] = Object.values(definition).flatMap((entry) => (entry as Partial<ProtobufTypeDefinition>).fileDescriptorProtos ?? []);
    const file = fromBinary(FileDescriptorProtoSchema, bytes);
    file.name = name;
    const scope = file.package ? `.${file.package}` : '';
    const defined = new Set<string>();
    collectTypeNames(file.messageType, file.enumType, scope, defined);
    for (const message of file.messageType) normaliseMessage(message, scope, defined);
    for (const service of file.service) {
      for (const method of service.method) {
        method.inputType = qualify(method.inputType, scope, defined);
        method.outputType = qualify(method.outputType, scope, defined);
      }
    }
    return file;
  });
}

function collectTypeNames(messages: DescriptorProto[], enums: { name: string }[], scope: string, into: Set<string>): void {
  for (const enumType of enums) into.add(`${scope}.${enumType.name}`);
  for (const message of messages) {
    into.add(`${scope}.${message.name}`);
    collectTypeNames(message.nestedType, message.enumType, `${scope}.${message.name}`, into);
  }
}

function normaliseMessage(message: DescriptorProto, parentScope: string, defined: Set<string>): void {
  const scope = `${parentScope}.${message.name}`;
  for (const entry of message.nestedType.filter((nested) => nested.options?.mapEntry)) {
    const field = message.field.find((candidate) => candidate.typeName === entry.name || candidate.typeName === `${scope}.${entry.name}`);
    if (!field) continue;
    // protoc's implicit name: the field name in CamelCase plus "Entry".
    const implicitName = `${field.name.replace(/(?:^|_)([a-z])/g, (_match, letter: string) => letter.toUpperCase())}Entry`;
    defined.delete(`${scope}.${entry.name}`);
    defined.add(`${scope}.${implicitName}`);
    entry.name = implicitName;
    field.typeName = `${scope}.${implicitName}`;
  }
  for (const nested of message.nestedType) normaliseMessage(nested, scope, defined);
  for (const field of message.field) {
    if (field.typeName) field.typeName = qualify(field.typeName, scope, defined);
    // protobufjs writes json_name "" (which clients take literally); protoc writes lowerCamelCase.
    if (!field.jsonName) field.jsonName = field.name.replace(/_+(.)?/g, (_match, next?: string) => next?.toUpperCase() ?? '');
  }
}

/** Resolves a relative type name the way protoc does: innermost scope first, then outwards. */
function qualify(typeName: string, scope: string, defined: Set<string>): string {
  if (typeName.startsWith('.')) return typeName;
  for (let outer = scope; ; outer = outer.slice(0, Math.max(0, outer.lastIndexOf('.')))) {
    if (defined.has(`${outer}.${typeName}`)) return `${outer}.${typeName}`;
    if (outer === '') return typeName;
  }
}
