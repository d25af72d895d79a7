// `npm start`'s runner (dist/libs/devstack/main.js) as a terminal runs it: in a process group of
// its own, stopped with Ctrl-C, which a terminal sends to that whole group.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_PORTS } from '@switchyard/runtime';
import { lineSplitter } from './line-splitter';
import { PortReservations } from './port-reservations';

const workspaceRoot = resolve(__dirname, '../../..');
jest.setTimeout(90_000);

/** Throws naming the first of `ports` in use; holding them all for a moment is the check. */
async function expectPortsFree(ports: number[]): Promise<void> {
  await (await PortReservations.hold(ports)).releaseAll();
}

describe('npm start', () => {
  it('Ctrl-C stops every app in order: gateway, order and user deregister while the registry is still up', async () => {
    // npm start uses the fixed default ports; another npm start on this machine would hold them.
    const ports = Object.values(DEFAULT_PORTS);
    await expectPortsFree(ports);

    const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-npm-start-'));
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, DATA_DIR: dataDir, LOG_FORMAT: 'json' };
    const runner = spawn(process.execPath, [join(workspaceRoot, 'dist', 'libs', 'devstack', 'main.js')], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    const collect = (line: string) => void output.push(line);
    runner.stdout.setEncoding('utf8').on('data', lineSplitter(collect));
    runner.stderr.setEncoding('utf8').on('data', lineSplitter(collect));
    const exited = new Promise<number | null>((done) => runner.once('exit', (code) => done(code)));
    try {
      const deadline = Date.now() + 60_000;
      while (!output.some((line) => line.startsWith('Switchyard is up'))) {
        if (runner.exitCode !== null) throw new Error(`npm start exited early:\n${output.join('\n')}`);
        if (Date.now() > deadline) throw new Error(`npm start not up after 60 s:\n${output.join('\n')}`);
        await new Promise((r) => setTimeout(r, 100));
      }

      process.kill(-runner.pid!, 'SIGINT');
      expect(await exited).toBe(0);

      const lineOf = (app: string, message: string) => output.findIndex((line) => line.startsWith(app) && line.includes(`"msg":"${message}"`));
      const registryStopped = lineOf('registry', 'registry stopped');
      expect(registryStopped).toBeGreaterThan(0);
      for (const app of ['gateway', 'order', 'user']) {
        const deregistered = lineOf(app, 'deregistered from the registry');
        expect([app, deregistered > 0]).toEqual([app, true]);
        expect(deregistered).toBeLessThan(registryStopped);
      }
      expect(output.filter((line) => line.includes('deregister failed'))).toEqual([]);
      // Nothing is left behind: every port is free again.
      await expectPortsFree(ports);
    } finally {
      if (runner.exitCode === null) process.kill(-runner.pid!, 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
