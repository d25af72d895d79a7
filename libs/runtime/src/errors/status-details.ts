import type { Metadata } from '@grpc/grpc-js';
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

/**
 * The field violations of the google.rpc.BadRequest in an error's `grpc-status-details-bin`
 * trailer, in order; [] when it carries none or the trailer does not decode.
 */
export function decodeFieldViolations(error: { metadata?: Metadata }): FieldViolation[] {
  const [details] = error.metadata?.get('grpc-status-details-bin') ?? [];
  if (!Buffer.isBuffer(details)) return [];
  try {
    return googleRpc.Status.decode(details)
      .details.filter((detail) => detail.typeUrl === BAD_REQUEST_TYPE_URL)
      .flatMap((detail) => googleRpc.BadRequest.decode(detail.value).fieldViolations.map(({ field, description }) => ({ field, description })));
  } catch {
    return [];
  }
}
