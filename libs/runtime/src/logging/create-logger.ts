import { context, trace } from '@opentelemetry/api';
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import { isoTimestamp } from './iso-timestamp';
import { turnFlushedDestination } from './turn-flushed-destination';

export interface LoggerOptions {
  /** The app, e.g. `user`; every line carries it. */
  service: string;
  level: string;
  format: 'json' | 'pretty';
  /** Extra fields on every line, e.g. the instance id. */
  base?: Record<string, unknown>;
}

/**
 * Fields that would hold a secret if anyone logged them: call metadata's `authorization`, tokens,
 * passwords, a whole config. Nothing logs them today; this keeps a future debug line from doing it.
 * Exact paths only: a wildcard path costs a walk of every logged object.
 */
export const REDACTED_LOG_PATHS = [
  'authorization',
  'metadata.authorization',
  'headers.authorization',
  'token',
  'password',
  'databaseUrl',
  'config.registryToken',
  'config.databaseUrl',
  'config.tls',
];

/**
 * pino with trace_id/span_id on every line written inside a traced call (through `mixin`, so no
 * call site has to pass them), JSON by default and pretty for people at a terminal.
 */
export function createLogger(options: LoggerOptions, destination?: pino.DestinationStream): Logger {
  const settings: pino.LoggerOptions = {
    level: options.level,
    base: { service: options.service, pid: process.pid, ...options.base },
    timestamp: isoTimestamp(),
    redact: { paths: REDACTED_LOG_PATHS, censor: '(hidden)' },
    mixin() {
      const spanContext = trace.getSpan(context.active())?.spanContext();
      return spanContext ? { trace_id: spanContext.traceId, span_id: spanContext.spanId } : {};
    },
  };
  if (options.format === 'pretty') {
    return pino(settings, pretty({ colorize: process.stdout.isTTY, singleLine: true, ignore: 'pid,hostname,service,instance_id', translateTime: 'SYS:HH:MM:ss.l' }));
  }
  // Synchronous writes to stdout, once per event-loop turn: pino's default (asynchronous, no
  // buffering) sends every line through its own fs.write on the thread pool and costs the server
  // about twice as much CPU per line; one blocking write of the turn's lines is cheaper still.
  return pino(settings, destination ?? turnFlushedDestination());
}

export type { Logger };
