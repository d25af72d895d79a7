// Domain errors are plain classes that business code throws without knowing about gRPC.
// The server's error mapping (status-mapping.ts) turns each into its gRPC status.
import { quoted } from './text-field-rules';

/** One bad field of a request, as google.rpc.BadRequest.FieldViolation. */
export interface FieldViolation {
  /** Path of the field in the request, e.g. `items[0].quantity`. */
  field: string;
  description: string;
}

export abstract class DomainError extends Error {
  override name = this.constructor.name;
}

/** The request is malformed; lists every bad field. Maps to INVALID_ARGUMENT. */
export class InvalidArgumentError extends DomainError {
  constructor(readonly violations: FieldViolation[]) {
    super(violations.map((v) => `${v.field}: ${v.description}`).join('; '));
  }
}

/** The named resource does not exist. Maps to NOT_FOUND. */
export class NotFoundError extends DomainError {
  constructor(
    readonly resource: string,
    readonly id: string,
  ) {
    super(`${resource} ${quoted(id)} not found`);
  }
}

/** A resource with the same unique key exists already. Maps to ALREADY_EXISTS. */
export class AlreadyExistsError extends DomainError {}

/** The system is not in a state that allows the call (e.g. the order's user is missing). */
export class FailedPreconditionError extends DomainError {}

/** The caller did not prove who it is. Maps to UNAUTHENTICATED. */
export class UnauthenticatedError extends DomainError {}

/** The caller is known but may not do this. Maps to PERMISSION_DENIED. */
export class PermissionDeniedError extends DomainError {}

/** A quota or rate limit is used up. Maps to RESOURCE_EXHAUSTED. */
export class ResourceExhaustedError extends DomainError {}

/** The work took longer than this server allows it (e.g. a database statement timeout). Maps to DEADLINE_EXCEEDED. */
export class DeadlineExceededError extends DomainError {}

/** Something the server needs is out of reach for now (e.g. its database): trying again may work. Maps to UNAVAILABLE. */
export class UnavailableError extends DomainError {}

/** Collects field violations and throws them together, so a client sees every bad field at once. */
export class FieldViolations {
  private readonly violations: FieldViolation[] = [];

  add(field: string, description: string): this {
    this.violations.push({ field, description });
    return this;
  }

  get isEmpty(): boolean {
    return this.violations.length === 0;
  }

  throwIfAny(): void {
    if (this.violations.length > 0) throw new InvalidArgumentError([...this.violations]);
  }
}
