/**
 * The signals that stop `npm start`: Ctrl-C (SIGINT to the terminal's process group), a stop
 * button or `kill` (SIGTERM) and a closed terminal (SIGHUP, to the whole group). npm 11 forwards
 * SIGINT and SIGTERM to its script's process only, the shell, and waits for it; a shell killed by
 * SIGTERM left its children running. So the prestart and start scripts `exec`: npm's child is nx
 * during the build and this runner after it, and each gets the signal itself.
 */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Calls `stop` once, on the first stop signal. Later ones are ignored while the stop runs: under
 * npm one Ctrl-C arrives twice, from the terminal and forwarded by npm. An app that does not stop
 * in time is killed by AppProcess.stop, so a second Ctrl-C is never needed.
 */
export function onStopSignal(stop: (signal: NodeJS.Signals) => void): void {
  let received = false;
  for (const signal of STOP_SIGNALS) {
    process.on(signal, () => {
      if (received) return;
      received = true;
      stop(signal);
    });
  }
}
