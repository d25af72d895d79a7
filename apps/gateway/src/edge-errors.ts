import { status as Status } from '@grpc/grpc-js';
import { trace } from '@opentelemetry/api';
import { decodeFieldViolations, InvalidArgumentError, statusError, toStatusError, type StatusError } from '@switchyard/runtime';
import { isBreakerRejection } from './breaker/circuit-breaker';

/** Statuses whose message speaks of the request, written by our services for their callers. */
const CLIENT_ACTIONABLE: ReadonlySet<Status> = new Set([
  Status.INVALID_ARGUMENT,
  Status.NOT_FOUND,
  Status.ALREADY_EXISTS,
  Status.FAILED_PRECONDITION,
  Status.OUT_OF_RANGE,
  Status.PERMISSION_DENIED,
  Status.UNAUTHENTICATED,
  Status.RESOURCE_EXHAUSTED,
  Status.ABORTED,
]);

// grpc-js writes addresses into these ("connect ECONNREFUSED 10.0.0.7:50051", "remote_addr=…"):
// the code tells the caller what to do, a fixed message replaces the rest.
const TRANSPORT_MESSAGES: ReadonlyMap<Status, string> = new Map([
  [Status.UNAVAILABLE, 'the service is unavailable; retry later'],
  [Status.DEADLINE_EXCEEDED, 'deadline exceeded'],
  [Status.CANCELLED, 'cancelled'],
]);

function activeTraceId(): string | undefined {
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}

/**
 * What a caller of the gateway may see of a failure, whether the gateway's own or one from a
 * service behind it: the status code, and the message only where it speaks of the request
 * (INVALID_ARGUMENT keeps its google.rpc.BadRequest field violations and nothing else). No
 * trailing metadata passes; transport failures get a fixed message; server faults (INTERNAL,
 * UNKNOWN and the rest) say "internal error" with the trace id to quote, and the real cause stays
 * in the gateway's log.
 */
export function toEdgeError(error: unknown): StatusError {
  const mapped = toStatusError(error);
  let edge: StatusError;
  if (mapped.code === Status.INVALID_ARGUMENT) {
    const violations = decodeFieldViolations(mapped);
    edge = violations.length > 0 ? toStatusError(new InvalidArgumentError(violations)) : statusError(Status.INVALID_ARGUMENT, 'invalid argument');
  } else if (CLIENT_ACTIONABLE.has(mapped.code)) {
    edge = statusError(mapped.code, mapped.details);
  } else if (isBreakerRejection(error)) {
    // The gateway's own message: it names the upstream and nothing else.
    edge = statusError(mapped.code, mapped.details);
  } else if (TRANSPORT_MESSAGES.has(mapped.code)) {
    edge = statusError(mapped.code, TRANSPORT_MESSAGES.get(mapped.code)!);
  } else {
    const traceId = activeTraceId();
    edge = statusError(mapped.code, traceId ? `internal error; trace id ${traceId}` : 'internal error');
  }
  // Logged by the gateway's logging middleware, never sent.
  return Object.assign(edge, { cause: error });
}
