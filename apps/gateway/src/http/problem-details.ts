import { status as Status } from '@grpc/grpc-js';
import { decodeFieldViolations, type FieldViolation, type StatusError } from '@switchyard/runtime';

/** An RFC 9457 problem, with the gRPC code name, field violations and trace id of the call. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** gRPC status code name, e.g. `INVALID_ARGUMENT`. */
  code: string;
  fieldViolations?: FieldViolation[];
  traceId?: string;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

// The standard mapping (google/rpc/code.proto, grpc-gateway's HTTPStatusFromCode).
const HTTP_STATUS: ReadonlyMap<Status, number> = new Map([
  [Status.OK, 200],
  [Status.CANCELLED, 499],
  [Status.INVALID_ARGUMENT, 400],
  [Status.FAILED_PRECONDITION, 400],
  [Status.OUT_OF_RANGE, 400],
  [Status.UNAUTHENTICATED, 401],
  [Status.PERMISSION_DENIED, 403],
  [Status.NOT_FOUND, 404],
  [Status.ALREADY_EXISTS, 409],
  [Status.ABORTED, 409],
  [Status.RESOURCE_EXHAUSTED, 429],
  [Status.UNIMPLEMENTED, 501],
  [Status.UNAVAILABLE, 503],
  [Status.DEADLINE_EXCEEDED, 504],
]);

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  499: 'Client Closed Request',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function httpStatusOf(code: Status): number {
  return HTTP_STATUS.get(code) ?? 500;
}

/** A problem of the HTTP layer itself (no route, wrong method, unreadable body). */
export function httpProblem(status: number, code: keyof typeof Status, detail: string, fieldViolations?: FieldViolation[]): Problem {
  return { type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail, code, ...(fieldViolations?.length ? { fieldViolations } : {}) };
}

/**
 * The problem for a failed gRPC call, already stripped to what a caller may see (toEdgeError):
 * its code decides the HTTP status, its message is the detail, a google.rpc.BadRequest becomes
 * fieldViolations.
 */
export function grpcProblem(error: StatusError): Problem {
  const status = httpStatusOf(error.code);
  return httpProblem(status, (Status[error.code] ?? 'UNKNOWN') as keyof typeof Status, error.details, decodeFieldViolations(error));
}
