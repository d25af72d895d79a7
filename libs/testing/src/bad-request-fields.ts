import type { ServiceError } from '@grpc/grpc-js';
import { googleRpc } from '@switchyard/proto';

/** The field paths of the google.rpc.BadRequest violations an error carries, in order; [] without any. */
export function badRequestFields(error: Pick<ServiceError, 'metadata'>): string[] {
  const [details] = error.metadata?.get('grpc-status-details-bin') ?? [];
  if (!Buffer.isBuffer(details)) return [];
  return googleRpc.Status.decode(details).details.flatMap((detail) =>
    detail.typeUrl === 'type.googleapis.com/google.rpc.BadRequest' ? googleRpc.BadRequest.decode(detail.value).fieldViolations.map((violation) => violation.field) : [],
  );
}
