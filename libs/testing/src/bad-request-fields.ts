import type { ServiceError } from '@grpc/grpc-js';
import { decodeFieldViolations } from '@switchyard/runtime';

/** The field paths of the google.rpc.BadRequest violations an error carries, in order; [] without any. */
export function badRequestFields(error: Pick<ServiceError, 'metadata'>): string[] {
  return decodeFieldViolations(error).map((violation) => violation.field);
}
