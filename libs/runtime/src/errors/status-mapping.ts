import { Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import {
  AlreadyExistsError,
  DeadlineExceededError,
  UnavailableError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnauthenticatedError,
} from './domain-errors';
import { encodeBadRequestStatus } from './status-details';

/** An error that already carries its gRPC status, e.g. one received from another service. */
export interface StatusError extends Error {
  code: Status;
  details: string;
  metadata: Metadata;
}

export function isStatusError(error: unknown): error is StatusError {
  return (
    error instanceof Error &&
    typeof (error as Partial<StatusError>).code === 'number' &&
    (error as Partial<StatusError>).metadata instanceof Metadata
  );
}

export function statusError(code: Status, details: string, metadata = new Metadata()): StatusError {
  return Object.assign(new Error(`${Status[code]}: ${details}`), { code, details, metadata });
}

/**
 * Maps whatever a handler threw to the status the client sees. Domain errors keep their message;
 * statuses from downstream calls pass through; anything else is INTERNAL with no stack or text
 * leaked (the server log has it).
 */
export function toStatusError(error: unknown): StatusError {
  if (isStatusError(error)) return error;
  if (error instanceof InvalidArgumentError) {
    const metadata = new Metadata();
    metadata.set('grpc-status-details-bin', encodeBadRequestStatus(Status.INVALID_ARGUMENT, error.message, error.violations));
    return statusError(Status.INVALID_ARGUMENT, error.message, metadata);
  }
  if (error instanceof NotFoundError) return statusError(Status.NOT_FOUND, error.message);
  if (error instanceof AlreadyExistsError) return statusError(Status.ALREADY_EXISTS, error.message);
  if (error instanceof FailedPreconditionError) return statusError(Status.FAILED_PRECONDITION, error.message);
  if (error instanceof UnauthenticatedError) return statusError(Status.UNAUTHENTICATED, error.message);
  if (error instanceof PermissionDeniedError) return statusError(Status.PERMISSION_DENIED, error.message);
  if (error instanceof ResourceExhaustedError) return statusError(Status.RESOURCE_EXHAUSTED, error.message);
  if (error instanceof DeadlineExceededError) return statusError(Status.DEADLINE_EXCEEDED, error.message);
  if (error instanceof UnavailableError) return statusError(Status.UNAVAILABLE, error.message);
  return statusError(Status.INTERNAL, 'internal error');
}

export type { ServiceError };
