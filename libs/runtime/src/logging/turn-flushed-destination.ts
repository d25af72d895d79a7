import { writeSync } from 'node:fs';
import type pino from 'pino';

/** Held at most: a larger burst is written at once, without waiting for the turn to end. */
const MAX_HELD_CHARS = 16 * 1024;
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * A file descriptor (stdout by default) that pino writes to synchronously, but once per event-loop
 * turn rather than once per line: the lines a turn logs (a server under load answers many calls
 * per turn, each with its line) are held and written together when the turn ends (setImmediate),
 * and at exit, uncaught exceptions included. What a SIGKILL can lose is the turn in progress.
 */
export function turnFlushedDestination(fd = 1): pino.DestinationStream {
  // One per descriptor, shared by every logger of the process: lines stay in order, and one exit
  // handler writes what is held.
  let destination = byDescriptor.get(fd);
  if (!destination) byDescriptor.set(fd, (destination = create(fd)));
  return destination;
}

const byDescriptor = new Map<number, pino.DestinationStream>();

function create(fd: number): pino.DestinationStream {
  let held = '';
  let scheduled = false;
  const writeHeld = () => {
    scheduled = false;
    if (held.length === 0) return;
    let rest = Buffer.from(held);
    held = '';
    while (rest.length > 0) {
      try {
        rest = rest.subarray(writeSync(fd, rest));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // Whoever read the logs has gone: a server does not stop for that.
        if (code === 'EPIPE') return;
        if (code !== 'EAGAIN') throw error;
        // A non-blocking pipe whose reader is behind: wait for it, as a blocking write would.
        Atomics.wait(pause, 0, 0, 10);
      }
    }
  };
  process.on('exit', writeHeld);
  return {
    write(line: string) {
      held += line;
      if (held.length >= MAX_HELD_CHARS) writeHeld();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(writeHeld);
      }
    },
  };
}
