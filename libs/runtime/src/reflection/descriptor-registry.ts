import { createFileRegistry, fromBinary, type FileRegistry } from '@bufbuild/protobuf';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';

let built: { descriptorSetBase64: string; registry: FileRegistry } | undefined;

/**
 * The file registry of a FileDescriptorSet (`descriptorSetBase64` of @switchyard/proto), without
 * the files' comments (source_code_info). Building one is part of every app's start and several
 * users of it share a process (reflection's check, retries, the gateway's HTTP routes), so the
 * last one built is kept; comments are five sixths of the set's bytes and none of them reads
 * them. Throws when the set does not resolve on its own (an unresolved import or type name).
 */
export function descriptorRegistry(descriptorSetBase64: string): FileRegistry {
  if (built?.descriptorSetBase64 !== descriptorSetBase64) {
    const set = fromBinary(FileDescriptorSetSchema, withoutSourceInfo(Buffer.from(descriptorSetBase64, 'base64')));
    built = { descriptorSetBase64, registry: createFileRegistry(set) };
  }
  return built.registry;
}

const SET_FILE = 1;
const FILE_SOURCE_CODE_INFO = 9;

/** Each file of a FileDescriptorSet (field 1, repeated) as the bytes it was written with. */
export function filesOfSet(setBytes: Uint8Array): Uint8Array[] {
  const set = new BinaryReader(setBytes);
  const files: Uint8Array[] = [];
  while (set.pos < set.len) {
    const [fieldNo, wireType] = set.tag();
    if (fieldNo === SET_FILE && wireType === WireType.LengthDelimited) files.push(set.bytes());
    else set.skip(wireType, fieldNo);
  }
  return files;
}

/** The set's bytes with source_code_info dropped from each file, copying every other field as it is. */
function withoutSourceInfo(setBytes: Uint8Array): Uint8Array {
  const out = new BinaryWriter();
  for (const fileBytes of filesOfSet(setBytes)) {
    const file = new BinaryReader(fileBytes);
    const kept = new BinaryWriter();
    while (file.pos < file.len) {
      const fieldStart = file.pos;
      const [fieldNo, wireType] = file.tag();
      file.skip(wireType, fieldNo);
      if (fieldNo !== FILE_SOURCE_CODE_INFO) kept.raw(fileBytes.subarray(fieldStart, file.pos));
    }
    out.tag(SET_FILE, WireType.LengthDelimited).bytes(kept.finish());
  }
  return out.finish();
}
