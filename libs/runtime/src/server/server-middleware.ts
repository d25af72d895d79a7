import type { CallContext } from './call-context';

/** Outcome of a call as middleware sees it, once `next` has settled. */
export interface CallOutcome {
  /** gRPC status code the client receives. */
  code: number;
  /** The error thrown by the handler (already mapped to a status), if any. */
  error?: Error;
}

/**
 * Wraps the handling of one call, like nice-grpc's server middleware. `next` runs the rest of the
 * chain and the handler and resolves to the outcome; it never rejects.
 */
export type ServerMiddleware = (call: CallContext, next: () => Promise<CallOutcome>) => Promise<CallOutcome>;

export function composeServerMiddleware(middleware: ServerMiddleware[], call: CallContext, last: () => Promise<CallOutcome>): Promise<CallOutcome> {
  const run = (index: number): Promise<CallOutcome> =>
    index === middleware.length ? last() : middleware[index](call, () => run(index + 1));
  return run(0);
}
