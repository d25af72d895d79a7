import type { ServerResponse } from 'node:http';
import type { FleetEvent } from './fleet-feed';

export interface EventStreamOptions {
  /** A comment line this often keeps proxies and idle-timeouts from closing a quiet stream. Default 15000. */
  keepAliveMs?: number;
  /** Bytes a slow reader may leave unread before its stream is ended (it reconnects to a fresh snapshot). Default 1 MiB. */
  maxBufferedBytes?: number;
  /** How soon a browser reconnects after the stream ends. Default 2000. */
  retryMs?: number;
}

export const DEFAULT_KEEP_ALIVE_MS = 15_000;

/** One server-sent event: the event's type as its name, the event as JSON on one data line. */
export function formatEvent(event: FleetEvent): string {
  // JSON.stringify escapes newlines inside strings, so one data line always holds the whole event.
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * Turns `response` into a server-sent event stream. Returns send(), and calls `onClose` once when
 * the stream ends, whoever ends it.
 */
export function openEventStream(response: ServerResponse, onClose: () => void, options: EventStreamOptions = {}): (event: FleetEvent) => void {
  const maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    // Tells nginx-style proxies not to buffer the stream.
    'x-accel-buffering': 'no',
  });
  response.write(`retry: ${options.retryMs ?? 2000}\n\n`);
  const keepAlive = setInterval(() => response.write(': keep-alive\n\n'), options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS);
  keepAlive.unref();
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(keepAlive);
    onClose();
  };
  response.once('close', close);
  return (event) => {
    if (closed) return;
    if (response.writableLength > maxBuffered) {
      // A reader this far behind would see stale news; it reconnects and starts from a snapshot.
      response.end();
      close();
      return;
    }
    response.write(formatEvent(event));
  };
}
