import { status as Status } from '@grpc/grpc-js';
import { DomainError, isStatusError, statusError } from '@switchyard/runtime';

/**
 * What a client sees when etcd fails a store call: UNAVAILABLE (so clients retry, and their
 * cached views stay) with what went wrong, never an INTERNAL error or a crash. Domain errors
 * (NOT_FOUND, PERMISSION_DENIED, ...) pass through.
 */
export function asStoreError(error: unknown): Error {
  if (error instanceof DomainError || isStatusError(error)) return error;
  const reason = error instanceof Error ? error.message.split('\n')[0].slice(0, 200) : String(error);
  return statusError(
    Status.UNAVAILABLE,
    `the registry's etcd store did not answer (${reason}); check that a quorum of the etcd members in ETCD_ENDPOINTS is up`,
  );
}
