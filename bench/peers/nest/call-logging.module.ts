import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { context, trace } from '@opentelemetry/api';
import { LoggerModule } from 'nestjs-pino';
import pino from 'pino';
import { CallLogInterceptor } from './call-log.interceptor';

/**
 * A service module with nestjs-pino's LoggerModule and the call-log interceptor registered
 * globally (APP_INTERCEPTOR), as a Nest app's root module adds them. pino is set up as
 * Switchyard's logger is: JSON at `level`, trace_id/span_id through `mixin`, synchronous writes to
 * stdout.
 */
@Module({})
export class CallLoggingModule {
  static around(service: Type | DynamicModule, level: string): DynamicModule {
    return {
      module: CallLoggingModule,
      imports: [
        service,
        LoggerModule.forRoot({
          pinoHttp: [
            {
              level,
              mixin() {
                const spanContext = trace.getSpan(context.active())?.spanContext();
                return spanContext ? { trace_id: spanContext.traceId, span_id: spanContext.spanId } : {};
              },
            },
            pino.destination({ dest: 1, sync: true }),
          ],
        }),
      ],
      providers: [{ provide: APP_INTERCEPTOR, useClass: CallLogInterceptor }],
    };
  }
}
