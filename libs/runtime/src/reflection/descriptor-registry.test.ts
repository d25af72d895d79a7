import { create, createFileRegistry, fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { descriptorSetBase64 } from '@switchyard/proto';
import { descriptorRegistry } from './descriptor-registry';

const fullSet = () => fromBinary(FileDescriptorSetSchema, Buffer.from(descriptorSetBase64, 'base64'));

describe('descriptorRegistry', () => {
  it('holds every file, service and method option of the set, without the comments', () => {
    const full = createFileRegistry(fullSet());
    const registry = descriptorRegistry(descriptorSetBase64);
    expect([...registry.files].map((file) => file.proto.name)).toEqual([...full.files].map((file) => file.proto.name));
    for (const file of full.files) {
      const same = registry.getFile(file.proto.name)!;
      // Everything but source_code_info, byte for byte.
      expect(toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: [same.proto] }))).toEqual(
        toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: [{ ...file.proto, sourceCodeInfo: undefined }] })),
      );
      expect(same.proto.sourceCodeInfo).toBeUndefined();
    }
    expect(fullSet().file.some((file) => file.sourceCodeInfo !== undefined)).toBe(true);
  });

  it('builds a set once, and another set anew', () => {
    const first = descriptorRegistry(descriptorSetBase64);
    expect(descriptorRegistry(descriptorSetBase64)).toBe(first);
    const onlyTimestamp = create(FileDescriptorSetSchema, { file: fullSet().file.filter((file) => file.name === 'google/protobuf/timestamp.proto') });
    const other = descriptorRegistry(Buffer.from(toBinary(FileDescriptorSetSchema, onlyTimestamp)).toString('base64'));
    expect([...other.files].map((file) => file.proto.name)).toEqual(['google/protobuf/timestamp.proto']);
    expect(descriptorRegistry(descriptorSetBase64)).not.toBe(other);
  });

  it('throws when the set does not resolve on its own', () => {
    const withoutTimestamp = create(FileDescriptorSetSchema, { file: fullSet().file.filter((file) => file.name !== 'google/protobuf/timestamp.proto') });
    expect(() => descriptorRegistry(Buffer.from(toBinary(FileDescriptorSetSchema, withoutTimestamp)).toString('base64'))).toThrow();
  });
});
