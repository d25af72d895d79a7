import type { JetStreamManager, NatsConnection } from 'nats';

/** A JetStream stream events are kept in. */
export interface EventStream {
  name: string;
  subjects: string[];
}

/** The stream dead letters of every consumer go to, one subject per consumer. */
export const DEAD_LETTER_STREAM: EventStream = { name: 'DEAD_LETTERS', subjects: ['switchyard.deadletter.>'] };

export function deadLetterSubject(consumer: string): string {
  return `switchyard.deadletter.${consumer}`;
}

// JetStream's API error code for a stream name already taken.
const STREAM_NAME_IN_USE = 10058;

/**
 * Creates the streams that do not exist yet, on file storage with the broker's defaults (a
 * 2-minute duplicate window on message ids). A stream someone already made is left as it is:
 * publisher and consumers all call this at start, in any order, and an operator's changes stay.
 */
export async function ensureStreams(connection: NatsConnection, streams: readonly EventStream[]): Promise<JetStreamManager> {
  const manager = await connection.jetstreamManager();
  for (const stream of streams) {
    try {
      await manager.streams.add({ name: stream.name, subjects: stream.subjects });
    } catch (error) {
      if ((error as { api_error?: { err_code?: number } }).api_error?.err_code !== STREAM_NAME_IN_USE) throw error;
    }
  }
  return manager;
}
