import { InterceptingCall, status as Status, type Interceptor } from '@grpc/grpc-js';
import { context } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { asInterceptorResult } from './forwarding-call';

/**
 * One debug line per attempt of an outgoing call (innermost, so each retry and backup shows,
 * with the instance it reached). Whether debug
 * is on is decided when the attempt starts; when it is off the attempt gets no layer at all.
 */
export function loggingInterceptor(logger: Logger): Interceptor {
  return (options, nextCall) => {
    // The inner call itself: nothing to log, so no layer.
    if (!logger.isLevelEnabled('debug')) return asInterceptorResult(nextCall(options));
    const started = process.hrtime.bigint();
    // An attempt ended by a timer (its deadline, a winning backup) ends outside its call's
    // context: the line is written in the attempt's own, so it carries the call's trace_id.
    const attemptContext = context.active();
    const call = nextCall(options);
    return new InterceptingCall(call, {
      start(metadata, _listener, next) {
        next(metadata, {
          onReceiveStatus(status, nextStatus) {
            const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
            context.with(attemptContext, () =>
              logger.debug(
                {
                  method: options.method_definition.path,
                  code: status.code,
                  status: Status[status.code],
                  duration_ms: Math.round(durationMs * 1000) / 1000,
                  // The instance this attempt went to (host:port), or the target when none was picked.
                  peer: call.getPeer(),
                },
                'outgoing rpc',
              ),
            );
            nextStatus(status);
          },
        });
      },
    });
  };
}
