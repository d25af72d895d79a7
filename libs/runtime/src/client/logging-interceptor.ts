import { InterceptingCall, status as Status, type Interceptor } from '@grpc/grpc-js';
import type { Logger } from 'pino';

/** One debug line per attempt of an outgoing call (innermost, so each retry shows). */
export function loggingInterceptor(logger: Logger): Interceptor {
  return (options, nextCall) => {
    const started = process.hrtime.bigint();
    return new InterceptingCall(nextCall(options), {
      start(metadata, _listener, next) {
        next(metadata, {
          onReceiveStatus(status, nextStatus) {
            if (logger.isLevelEnabled('debug')) {
              const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
              logger.debug(
                { method: options.method_definition.path, code: status.code, status: Status[status.code], duration_ms: Math.round(durationMs * 1000) / 1000 },
                'outgoing rpc',
              );
            }
            nextStatus(status);
          },
        });
      },
    });
  };
}
