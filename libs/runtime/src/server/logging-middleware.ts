import { status as Status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { CallContext } from './call-context';
import type { CallOutcome, ServerMiddleware } from './server-middleware';

/**
 * One log line per call: method, status, duration and peer (trace_id/span_id come from the
 * logger's mixin). Server faults log at error with the real cause, which the client never sees.
 * `debugMethods` (e.g. heartbeats, every 2 s per instance) log at debug so they do not drown the rest.
 */
export function loggingMiddleware(logger: Logger, options: { debugMethods?: ReadonlySet<string> } = {}): ServerMiddleware {
  // then() rather than async/await, as in tracingMiddleware: fewer promises on every call.
  const logOutcome = (call: CallContext, started: bigint, outcome: CallOutcome): CallOutcome => {
    const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    const line = {
      method: call.method,
      code: outcome.code,
      status: Status[outcome.code],
      duration_ms: Math.round(durationMs * 1000) / 1000,
      peer: call.peer,
    };
    if (outcome.code === Status.INTERNAL || outcome.code === Status.UNKNOWN) {
      logger.error({ ...line, err: outcome.error?.cause ?? outcome.error }, 'rpc failed');
    } else if (options.debugMethods?.has(call.method)) {
      logger.debug(line, 'rpc');
    } else {
      logger.info(line, 'rpc');
    }
    return outcome;
  };
  return (call, next) => {
    const started = process.hrtime.bigint();
    return next().then((outcome) => logOutcome(call, started, outcome));
  };
}
