import { createFileRegistry, fromBinary, type FileRegistry } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';

let built: { descriptorSetBase64: string; registry: FileRegistry } | undefined;

/**
 * The file registry of a FileDescriptorSet (`descriptorSetBase64` of @switchyard/proto). Building
 * one takes tens of milliseconds and a process starts several users of it (reflection, retries,
 * the gateway's HTTP routes), so the last one built is kept. Throws when the set does not resolve
 * on its own (an unresolved import or type name).
 */
export function descriptorRegistry(descriptorSetBase64: string): FileRegistry {
  if (built?.descriptorSetBase64 !== descriptorSetBase64) {
    built = { descriptorSetBase64, registry: createFileRegistry(fromBinary(FileDescriptorSetSchema, Buffer.from(descriptorSetBase64, 'base64'))) };
  }
  return built.registry;
}
