import { performance } from 'node:perf_hooks';
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
  // performance.now(), not process.hrtime.bigint(): the same monotonic clock without two BigInts per call.
  const logOutcome = (call: CallContext, started: number, outcome: CallOutcome): CallOutcome => {
    const durationMs = performance.now() - started;
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
    const started = performance.now();
    return next().then((outcome) => logOutcome(call, started, outcome));
  };
}
