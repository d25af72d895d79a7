import { createRequire } from 'node:module';
import { connect } from 'node:net';

const LISTEN_TIMEOUT_MS = 15_000;

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Runs a built app (`dist/apps/<app>/main.js`) in this process, so the process's CPU time and
 * memory are the app's, and waits until it accepts connections on `port`. The app reads its
 * configuration from this process's environment and stops on its own SIGTERM handler.
 */
export async function loadBuiltApp(main: string, port: number): Promise<void> {
  createRequire(__filename)(main);
  const deadline = Date.now() + LISTEN_TIMEOUT_MS;
  while (!(await accepting(port))) {
    if (Date.now() > deadline) throw new Error(`${main} not listening on ${port} after ${LISTEN_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
