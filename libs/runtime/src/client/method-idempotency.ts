import { MethodOptions_IdempotencyLevel } from '@bufbuild/protobuf/wkt';
import { descriptorRegistry } from '../reflection/descriptor-registry';

/**
 * Paths (`/pkg.Service/Method`) of the methods the .proto files mark safe to repeat with
 * `option idempotency_level = NO_SIDE_EFFECTS` or `IDEMPOTENT`. The protos are the one place
 * that says so; retries read it from here rather than from a list kept beside the code.
 */
export function idempotentMethodPaths(descriptorSetBase64: string): ReadonlySet<string> {
  const registry = descriptorRegistry(descriptorSetBase64);
  const paths = new Set<string>();
  for (const file of registry.files) {
    for (const service of file.services) {
      for (const method of service.methods) {
        if (method.idempotency !== MethodOptions_IdempotencyLevel.IDEMPOTENCY_UNKNOWN) {
          paths.add(`/${service.typeName}/${method.name}`);
        }
      }
    }
  }
  return paths;
}
