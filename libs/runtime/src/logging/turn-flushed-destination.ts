import pino from 'pino';

/** Held at most (below sonic-boom's 16 KiB write size): a larger burst is written at once, without waiting for the turn to end. */
const MAX_HELD_BYTES = 8 * 1024;

/**
 * A file descriptor (stdout by default) that pino writes to synchronously, but once per event-loop
 * turn rather than once per line: the lines a turn logs (a server under load answers many calls
 * per turn, each with its line) are held and written together when the turn ends (setImmediate),
 * and at exit, uncaught exceptions included. What a SIGKILL can lose is the turn in progress.
 */
export function turnFlushedDestination(fd = 1): pino.DestinationStream {
  // One per descriptor, shared by every logger of the process: lines stay in order, and one exit
  // handler flushes them.
  let destination = byDescriptor.get(fd);
  if (!destination) byDescriptor.set(fd, (destination = create(fd)));
  return destination;
}

const byDescriptor = new Map<number, pino.DestinationStream>();

function create(fd: number): pino.DestinationStream {
  const stream = pino.destination({ dest: fd, sync: true, minLength: MAX_HELD_BYTES });
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    stream.flushSync();
  };
  process.on('exit', () => stream.flushSync());
  return {
    write(line: string) {
      stream.write(line);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
  };
}
