// `npm start`'s runner (dist/libs/devstack/main.js) as a terminal runs it: in a process group of
// its own, stopped with Ctrl-C, which a terminal sends to that whole group.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_PORTS } from '@switchyard/runtime';

const workspaceRoot = resolve(__dirname, '../../..');
jest.setTimeout(90_000);

function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

describe('npm start', () => {
  it('Ctrl-C stops every app in order: gateway, order and user deregister while the registry is still up', async () => {
    const ports = Object.values(DEFAULT_PORTS);
    const taken = [];
    for (const port of ports) if (!(await portIsFree(port))) taken.push(port);
    // npm start uses the fixed default ports; another npm start on this machine holds them.
    if (taken.length > 0) throw new Error(`ports ${taken.join(', ')} are in use (is npm start running?); stop it to run this test`);

    const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-npm-start-'));
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, DATA_DIR: dataDir, LOG_FORMAT: 'json' };
    const runner = spawn(process.execPath, [join(workspaceRoot, 'dist', 'libs', 'devstack', 'main.js')], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    let partial = '';
    const collect = (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      output.push(...parts);
    };
    runner.stdout.setEncoding('utf8').on('data', collect);
    runner.stderr.setEncoding('utf8').on('data', collect);
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
      for (const port of ports) expect([port, await portIsFree(port)]).toEqual([port, true]);
    } finally {
      if (runner.exitCode === null) process.kill(-runner.pid!, 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
