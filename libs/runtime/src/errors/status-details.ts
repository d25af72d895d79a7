import { BinaryWriter } from '@bufbuild/protobuf/wire';
import type { FieldViolation } from './domain-errors';

// google.rpc.Status carrying a google.rpc.BadRequest, encoded by hand: two tiny messages do not
// justify vendoring googleapis' protos. Clients read it from the `grpc-status-details-bin` trailer.
const BAD_REQUEST_TYPE_URL = 'type.googleapis.com/google.rpc.BadRequest';

export function encodeBadRequestStatus(code: number, message: string, violations: FieldViolation[]): Buffer {
  const badRequest = new BinaryWriter();
  for (const violation of violations) {
    badRequest.uint32(10).fork().uint32(10).string(violation.field).uint32(18).string(violation.description).join();
  }
  const status = new BinaryWriter()
    .uint32(8)
    .int32(code)
    .uint32(18)
    .string(message)
    .uint32(26)
    .fork()
    .uint32(10)
    .string(BAD_REQUEST_TYPE_URL)
    .uint32(18)
    .bytes(badRequest.finish())
    .join();
  return Buffer.from(status.finish());
}
