import { performance } from 'node:perf_hooks';
import { status as Status } from '@grpc/grpc-js';
import { Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { PinoLogger } from 'nestjs-pino';
import { tap, type Observable } from 'rxjs';

/** The gRPC status a handler's error ends the call with, as Nest's gRPC transport maps it. */
function statusOf(error: unknown): number {
  const reported = error instanceof RpcException ? error.getError() : error;
  const code = typeof reported === 'object' && reported !== null ? (reported as { code?: unknown }).code : undefined;
  return typeof code === 'number' ? code : Status.UNKNOWN;
}

/**
 * One info line per gRPC call through nestjs-pino's PinoLogger: method, status and duration, the
 * fields of Switchyard's server log line. The logger is injected by token: esbuild emits no
 * decorator metadata.
 */
@Injectable()
export class CallLogInterceptor implements NestInterceptor {
  constructor(@Inject(PinoLogger) private readonly logger: PinoLogger) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const started = performance.now();
    // A gRPC handler's third argument is grpc-js's call, which knows its method path.
    const method = context.getArgByIndex<{ getPath?(): string } | undefined>(2)?.getPath?.() ?? context.getHandler().name;
    const log = (code: number) =>
      this.logger.info({ method, code, status: Status[code], duration_ms: Math.round((performance.now() - started) * 1000) / 1000 }, 'rpc');
    return next.handle().pipe(tap({ complete: () => log(Status.OK), error: (error: unknown) => log(statusOf(error)) }));
  }
}
