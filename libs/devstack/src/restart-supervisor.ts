import type { AppProcess } from './app-process';
import type { LocalStack } from './local-stack';

/** When an app that died is started again: delays double from `firstDelayMs` up to `maxDelayMs`. */
export interface RestartPolicy {
  /** Default 1 s. */
  firstDelayMs: number;
  /** Default 30 s. */
  maxDelayMs: number;
  /** An instance that served this long starts the next restart at `firstDelayMs` again. Default 10 s, as docker's. */
  resetAfterMs: number;
}

/** What the supervisor needs of a LocalStack. */
export type RestartableStack = Pick<LocalStack, 'processes' | 'isStopping' | 'restart'>;

const DEFAULT_POLICY: RestartPolicy = { firstDelayMs: 1000, maxDelayMs: 30_000, resetAfterMs: 10_000 };

/**
 * Restarts any app of `stack` that dies while the stack is not stopping, as docker compose's
 * `restart: unless-stopped` does: the other apps keep running, and each death and restart is
 * reported through `log`. Restarts stop as soon as `stack.stop()` begins.
 */
export function superviseRestarts(stack: RestartableStack, log: (name: string, message: string) => void, policy: Partial<RestartPolicy> = {}): void {
  const { firstDelayMs, maxDelayMs, resetAfterMs } = { ...DEFAULT_POLICY, ...policy };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  const watch = (process: AppProcess, nextDelayMs: number) => {
    const servingSince = Date.now();
    void process.exited.then(async ({ code, signal }) => {
      if (stack.isStopping) return;
      const name = process.name;
      let delayMs = Date.now() - servingSince >= resetAfterMs ? firstDelayMs : nextDelayMs;
      log(name, `exited (${signal ?? `code ${code}`}); the other apps keep running`);
      for (;;) {
        log(name, `restarting in ${delayMs / 1000} s`);
        await sleep(delayMs);
        if (stack.isStopping) return;
        const nextDelay = Math.min(delayMs * 2, maxDelayMs);
        try {
          const restarted = await stack.restart(process);
          log(name, 'restarted and SERVING');
          watch(restarted, nextDelay);
          return;
        } catch (error) {
          if (stack.isStopping) return;
          log(name, `restart failed: ${(error as Error).message.split('\n')[0]}`);
          delayMs = nextDelay;
        }
      }
    });
  };

  for (const process of stack.processes) if (process.running) watch(process, firstDelayMs);
}
