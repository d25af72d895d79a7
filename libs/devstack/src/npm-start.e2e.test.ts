// `npm start` and its runner (dist/libs/devstack/main.js) as a terminal runs them: in a process
// group of their own, on the fixed default ports, so no other `npm start` may run meanwhile.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_PORTS } from '@switchyard/runtime';
import { EarlyClientProbes } from './early-client-probes';
import { expectPortsFree, RunnerProcess, waitFor, type RunnerProcessOptions } from './runner-process';

const workspaceRoot = resolve(__dirname, '../../..');
const ports = Object.values(DEFAULT_PORTS);
jest.setTimeout(120_000);

describe('npm start', () => {
  let dataDir: string;
  let runner: RunnerProcess | undefined;

  beforeEach(async () => {
    await expectPortsFree(ports);
    dataDir = mkdtempSync(join(tmpdir(), 'switchyard-npm-start-'));
  });

  afterEach(() => {
    runner?.killAll();
    runner = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  const start = (via: RunnerProcessOptions['via'], env: NodeJS.ProcessEnv = {}) => {
    runner = new RunnerProcess({ workspaceRoot, via, env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, LOG_FORMAT: 'json', ...env } });
    return runner;
  };
  const lineOf = (output: string[], app: string, message: string) => output.findIndex((line) => line.startsWith(app) && line.includes(`"msg":"${message}"`));

  /** Every app's stop, in order: gateway, order and user deregister while the registry is still up. */
  const expectStoppedInOrder = async (output: string[]) => {
    const registryStopped = lineOf(output, 'registry', 'registry stopped');
    expect(registryStopped).toBeGreaterThan(0);
    for (const app of ['gateway', 'order', 'user']) {
      const deregistered = lineOf(output, app, 'deregistered from the registry');
      expect([app, deregistered > 0]).toEqual([app, true]);
      expect(deregistered).toBeLessThan(registryStopped);
    }
    expect(output.filter((line) => line.includes('deregister failed'))).toEqual([]);
    // Nothing is left behind: every port is free again.
    await expectPortsFree(ports);
  };

  it('Ctrl-C (SIGINT to the process group) stops every app in order', async () => {
    const started = start('runner');
    await started.waitForLine(/^Switchyard is up/);
    process.kill(-started.pid, 'SIGINT');
    expect(await started.exited).toEqual({ code: 0, signal: null });
    await expectStoppedInOrder(started.output);
  });

  it('starts every app while clients dial every port from before the start: held open, opened and closed, health checks', async () => {
    const probes = new EarlyClientProbes(ports);
    try {
      const started = start('runner');
      await waitFor('every app SERVING to the probes', () => {
        if (!started.running) throw new Error(`npm start exited:\n${started.output.join('\n')}`);
        return probes.allServing;
      }, 60_000).catch((error: Error) => {
        throw new Error(`${error.message}; SERVING: ${[...probes.serving].join(', ')}\n${started.output.slice(-20).join('\n')}`);
      });
      await started.waitForLine(/^Switchyard is up/);
    } finally {
      probes.stop();
    }
  });
});
