import { googleRpc } from '@switchyard/proto';
import type { FieldViolation } from './domain-errors';

const BAD_REQUEST_TYPE_URL = 'type.googleapis.com/google.rpc.BadRequest';

/**
 * A google.rpc.Status carrying a google.rpc.BadRequest with one violation per bad field: what
 * clients read from the `grpc-status-details-bin` trailer (grpcurl prints it, as reflection
 * serves both types).
 */
export function encodeBadRequestStatus(code: number, message: string, violations: FieldViolation[]): Buffer {
  const badRequest = googleRpc.BadRequest.encode({
    fieldViolations: violations.map(({ field, description }) => ({ field, description, reason: '', localizedMessage: undefined })),
  }).finish();
  const status = googleRpc.Status.encode({ code, message, details: [{ typeUrl: BAD_REQUEST_TYPE_URL, value: Buffer.from(badRequest) }] }).finish();
  return Buffer.from(status);
}
