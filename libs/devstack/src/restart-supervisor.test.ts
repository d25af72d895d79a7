import type { AppProcess } from './app-process';
import { superviseRestarts, type RestartableStack } from './restart-supervisor';

/** An app instance that exits when told to, as far as the supervisor can see. */
function fakeInstance(app: string) {
  let exit!: (result: { code: number | null; signal: NodeJS.Signals | null }) => void;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => (exit = resolve));
  return { instance: { options: { app }, name: app, running: true, exited } as unknown as AppProcess, kill: () => exit({ code: null, signal: 'SIGKILL' }) };
}

describe('superviseRestarts', () => {
  it('restarts a dying app with delays doubling up to the maximum, and from the first again after it served a while', async () => {
    const log: string[] = [];
    const instances: ReturnType<typeof fakeInstance>[] = [];
    let failStarts = 3;
    const stack = {
      processes: [] as AppProcess[],
      isStopping: false,
      restart: async (dead: AppProcess) => {
        if (failStarts-- > 0) throw new Error('user exited before serving');
        const created = fakeInstance(dead.options.app);
        instances.push(created);
        return created.instance;
      },
    };
    const first = fakeInstance('user');
    stack.processes.push(first.instance);
    superviseRestarts(stack as unknown as RestartableStack, (app, message) => log.push(`${app}: ${message}`), { firstDelayMs: 10, maxDelayMs: 40, resetAfterMs: 300 });

    first.kill();
    while (instances.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(log.filter((line) => line.includes('restarting in'))).toEqual(['user: restarting in 0.01 s', 'user: restarting in 0.02 s', 'user: restarting in 0.04 s', 'user: restarting in 0.04 s']);
    expect(log.at(-1)).toBe('user: restarted and SERVING');

    // Served longer than resetAfterMs: the next restart waits the first delay again.
    await new Promise((resolve) => setTimeout(resolve, 350));
    log.length = 0;
    instances[0].kill();
    while (instances.length === 1) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(log.filter((line) => line.includes('restarting in'))).toEqual(['user: restarting in 0.01 s']);

    // Stopping: a death is not restarted.
    stack.isStopping = true;
    log.length = 0;
    instances[1].kill();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(log).toEqual([]);
    expect(instances).toHaveLength(2);
  });
});
