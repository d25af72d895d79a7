import { context, trace } from '@opentelemetry/api';
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export interface LoggerOptions {
  /** The app, e.g. `user`; every line carries it. */
  service: string;
  level: string;
  format: 'json' | 'pretty';
  /** Extra fields on every line, e.g. the instance id. */
  base?: Record<string, unknown>;
}

/**
 * pino with trace_id/span_id on every line written inside a traced call (through `mixin`, so no
 * call site has to pass them), JSON by default and pretty for people at a terminal.
 */
export function createLogger(options: LoggerOptions, destination?: pino.DestinationStream): Logger {
  const settings: pino.LoggerOptions = {
    level: options.level,
    base: { service: options.service, pid: process.pid, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin() {
      const spanContext = trace.getSpan(context.active())?.spanContext();
      return spanContext ? { trace_id: spanContext.traceId, span_id: spanContext.spanId } : {};
    },
  };
  if (options.format === 'pretty') {
    return pino(settings, pretty({ colorize: process.stdout.isTTY, singleLine: true, ignore: 'pid,hostname,service,instance_id', translateTime: 'SYS:HH:MM:ss.l' }));
  }
  return destination ? pino(settings, destination) : pino(settings);
}

export type { Logger };
