import { z } from 'zod';

const NATS_SERVER = /^(nats|tls):\/\/[^\s,/]+(:\d+)?\/?$/;

/** EVENTS_URL: one or more NATS servers, `nats://host:4222` (`tls://` for TLS), comma-separated. */
export function eventsUrlVariable() {
  return z
    .string()
    .trim()
    .refine((value) => value.split(',').every((server) => NATS_SERVER.test(server.trim())), {
      message: 'expected nats://host:port, several separated by commas (e.g. nats://127.0.0.1:4222)',
    });
}
