import { status as Status } from '@grpc/grpc-js';
import { InvalidArgumentError, statusError, toStatusError } from '@switchyard/runtime';
import { grpcProblem, httpStatusOf } from './problem-details';

describe('problem details', () => {
  it('maps every gRPC code to the standard HTTP status', () => {
    const expected: Record<string, number> = {
      OK: 200,
      CANCELLED: 499,
      UNKNOWN: 500,
      INVALID_ARGUMENT: 400,
      DEADLINE_EXCEEDED: 504,
      NOT_FOUND: 404,
      ALREADY_EXISTS: 409,
      PERMISSION_DENIED: 403,
      RESOURCE_EXHAUSTED: 429,
      FAILED_PRECONDITION: 400,
      ABORTED: 409,
      OUT_OF_RANGE: 400,
      UNIMPLEMENTED: 501,
      INTERNAL: 500,
      UNAVAILABLE: 503,
      DATA_LOSS: 500,
      UNAUTHENTICATED: 401,
    };
    const actual = Object.fromEntries(Object.keys(expected).map((name) => [name, httpStatusOf(Status[name as keyof typeof Status])]));
    expect(actual).toEqual(expected);
  });

  it('carries the code name, the message and the BadRequest field violations', () => {
    const problem = grpcProblem(toStatusError(new InvalidArgumentError([{ field: 'items[0].quantity', description: 'must be at least 1' }])));
    expect(problem).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: 'items[0].quantity: must be at least 1',
      code: 'INVALID_ARGUMENT',
      fieldViolations: [{ field: 'items[0].quantity', description: 'must be at least 1' }],
    });
    expect(grpcProblem(statusError(Status.UNAVAILABLE, 'the service is unavailable; retry later'))).toEqual({
      type: 'about:blank',
      title: 'Service Unavailable',
      status: 503,
      detail: 'the service is unavailable; retry later',
      code: 'UNAVAILABLE',
    });
  });
});
