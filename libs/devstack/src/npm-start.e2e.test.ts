// `npm start` and its runner (dist/libs/devstack/main.js) as a terminal runs them: in a process
// group of their own, on the fixed default ports, so no other `npm start` may run meanwhile.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { status as Status } from '@grpc/grpc-js';
import { DEFAULT_PORTS } from '@switchyard/runtime';
import { connectReflection } from '@switchyard/testing';
import { EarlyClientProbes } from './early-client-probes';
import { checkHealth } from './health-check';
import { expectPortsFree, groupAlive, RunnerProcess, waitFor, type RunnerProcessOptions } from './runner-process';

const workspaceRoot = resolve(__dirname, '../../..');
const ports = Object.values(DEFAULT_PORTS);
// The gateway's HTTP/JSON face (HTTP_PORT, 8080 under npm start) and the registry's dashboard
// (its HTTP_PORT, 8051) must be freed too.
const portsToFree = [...ports, 8080, 8051];
// The apps' default: how long a stop may wait for calls in flight.
const SHUTDOWN_TIMEOUT_MS = 10_000;
jest.setTimeout(120_000);

describe('npm start', () => {
  let dataDir: string;
  let runner: RunnerProcess | undefined;

  beforeEach(async () => {
    await expectPortsFree(portsToFree);
    dataDir = mkdtempSync(join(tmpdir(), 'switchyard-npm-start-'));
  });

  afterEach(async () => {
    await runner?.killAll();
    runner = undefined;
    // Unset when beforeEach failed (a port already taken): that error is the one to read.
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const start = (via: RunnerProcessOptions['via'], env: NodeJS.ProcessEnv = {}, args: string[] = []) => {
    runner = new RunnerProcess({ workspaceRoot, via, args, env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, LOG_FORMAT: 'json', ...env } });
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
    await expectPortsFree(portsToFree);
  };

  /** Sends `signal` to npm, to the runner or to the whole process group (a terminal's Ctrl-C). */
  const send = (started: RunnerProcess, signal: NodeJS.Signals, to: 'npm' | 'runner' | 'group') => {
    if (to === 'group') return process.kill(-started.pid, signal);
    const pid = to === 'npm' ? started.pid : started.runnerPid();
    if (!pid) throw new Error(`no runner below npm:\n${started.output.join('\n')}`);
    process.kill(pid, signal);
  };

  /** npm (or the runner) exits, then no app it started runs and every port is free, within SHUTDOWN_TIMEOUT_MS plus a second. */
  const expectAllGone = async (started: RunnerProcess, signalledAt: number) => {
    await started.exited;
    await waitFor('every app gone', () => started.liveApps().length === 0, 15_000).catch(() => {
      throw new Error(`still running: ${started.liveApps().join(', ')}\n${started.output.slice(-20).join('\n')}`);
    });
    // Nothing of npm's process group (the shell, the build, the runner) outlives npm for long.
    await waitFor('npm\'s process group gone', () => !groupAlive(started.pid), 3000);
    expect(Date.now() - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 1000);
    await expectPortsFree(portsToFree);
  };

  // The ways a terminal (Ctrl-C: SIGINT to the group), an IDE (SIGTERM to npm) and a supervisor
  // (SIGTERM to the runner) stop it, with and without npm in between, spread over the phases
  // (serving, starting, building) rather than crossed with them: every run costs a whole start.
  it.each([
    ['runner', 'SIGINT', 'group'],
    ['npm', 'SIGTERM', 'npm'],
    ['npm', 'SIGTERM', 'runner'],
  ] as const)('while serving: %s start, %s to the %s stops every app in order', async (via, signal, to) => {
    const started = start(via);
    await started.waitForLine(/^Switchyard is up/);
    expect(Object.keys(started.appPids()).sort()).toEqual(['gateway', 'order', 'registry', 'user']);
    const signalledAt = Date.now();
    send(started, signal, to);
    await expectAllGone(started, signalledAt);
    // The runner stopped on its own and said so; npm then exits as its script did.
    expect(await started.exited).toEqual({ code: 0, signal: null });
    await expectStoppedInOrder(started.output);
  });

  it.each([['npm', 'SIGTERM', 'npm']] as const)('while the apps start: %s start, %s to the %s stops every app started so far', async (via, signal, to) => {
    const started = start(via);
    // The registry serves; user and order are starting, the gateway is not yet.
    await started.waitForLine(/"msg":"registry serving"/);
    const signalledAt = Date.now();
    send(started, signal, to);
    await expectAllGone(started, signalledAt);
    expect(started.seenApps.size).toBeGreaterThan(0);
    expect(started.output.some((line) => line.startsWith('Switchyard is up'))).toBe(false);
  });

  it.each([['SIGINT', 'group']] as const)('while building: %s to the %s ends the build and starts no app', async (signal, to) => {
    const started = start('npm');
    await waitFor('the build under npm', () => started.descendants().some((p) => p.command.includes('.bin/nx run-many')), 30_000);
    const signalledAt = Date.now();
    send(started, signal, to);
    await expectAllGone(started, signalledAt);
    expect(started.seenApps.size).toBe(0);
    expect(started.output.some((line) => line.includes('starting registry'))).toBe(false);
  });

  it('when the runner is SIGKILLed, every app stops on its own', async () => {
    const started = start('npm');
    await started.waitForLine(/^Switchyard is up/);
    const signalledAt = Date.now();
    send(started, 'SIGKILL', 'runner');
    await expectAllGone(started, signalledAt);
    expect(started.seenApps.size).toBe(4);
  });

  it("passes the caller's environment to every app over the compose file's, except the variables the stack owns", async () => {
    const started = start('npm', {
      // compose sets LOG_LEVEL=info; the registry logs heartbeats at debug.
      LOG_LEVEL: 'debug',
      FAULTS: 'GetUserWithOrders:abort=RESOURCE_EXHAUSTED',
      // Owned by the stack: one port for all four apps would not do.
      GRPC_PORT: '50999',
    });
    await started.waitForLine(/^Switchyard is up/);
    await started.waitForLine(/^registry .*"level":20/, 10_000);
    const gateway = connectReflection(`127.0.0.1:${DEFAULT_PORTS.gateway}`);
    try {
      await expect(gateway.invoke('switchyard.gateway.v1.GatewayService/GetUserWithOrders', { userId: 'anyone' })).rejects.toMatchObject({
        code: Status.RESOURCE_EXHAUSTED,
      });
    } finally {
      gateway.close();
    }
    send(started, 'SIGINT', 'group');
    await expectAllGone(started, Date.now());
  });

  it('restarts an app that dies while the others keep running, and Ctrl-C still stops all', async () => {
    const started = start('npm');
    await started.waitForLine(/^Switchyard is up/);
    const before = started.appPids();
    process.kill(before.user!, 'SIGKILL');
    await started.waitForLine(/^user .*\[npm start\] exited \(SIGKILL\)/, 10_000);
    await started.waitForLine(/^user .*\[npm start\] restarted and SERVING/, 30_000);
    const after = started.appPids();
    expect(after.user).not.toBe(before.user);
    expect({ registry: after.registry, gateway: after.gateway, order: after.order }).toEqual({ registry: before.registry, gateway: before.gateway, order: before.order });
    // The new instance registered itself, and the gateway reaches it.
    await started.waitForLine(new RegExp(`^user .*"pid":${after.user},.*"msg":"registered with the registry"`), 10_000);
    expect(await checkHealth(`127.0.0.1:${DEFAULT_PORTS.user}`)).toBe('SERVING');
    const gateway = connectReflection(`127.0.0.1:${DEFAULT_PORTS.gateway}`);
    try {
      await expect(gateway.invoke('switchyard.gateway.v1.GatewayService/GetUserWithOrders', { userId: 'missing' })).rejects.toMatchObject({ code: Status.NOT_FOUND });
    } finally {
      gateway.close();
    }
    const signalledAt = Date.now();
    send(started, 'SIGINT', 'group');
    await expectAllGone(started, signalledAt);
    expect(await started.exited).toEqual({ code: 0, signal: null });
  });

  it('--replicas user=2 starts a second user on a free port, which the registry lists beside the first and restarts on it, and Ctrl-C stops both', async () => {
    // As typed: npm takes --replicas for its own config and passes user=2 on (replicas-option.ts).
    const started = start('npm', {}, ['--replicas', 'user=2']);
    await started.waitForLine(/^Switchyard is up/);
    const second = await started.waitForLine(/^ {2}user-2 +127\.0\.0\.1:\d+$/, 1000);
    const secondAddress = second.trim().split(/ +/)[1];
    expect(started.output).toContain(`  user     127.0.0.1:${DEFAULT_PORTS.user}`);
    expect(started.output.find((line) => line.startsWith('starting '))).toBe('starting registry, user x2, order, gateway ...');
    const userPids = started.descendants().filter((p) => p.command.includes('dist/apps/user/main.js') && p.state !== 'Z');
    expect(userPids).toHaveLength(2);
    // The registry's view, through the CLI and this run's token.
    const token = readFileSync(join(dataDir, 'registry-token'), 'utf8').trim();
    const listed = await new Promise<string>((done, fail) =>
      execFile(
        process.execPath,
        [join(workspaceRoot, 'dist', 'libs', 'cli', 'switchyard.js'), 'instances', 'user', '--json'],
        { env: { PATH: process.env.PATH, REGISTRY_ADDRESS: `127.0.0.1:${DEFAULT_PORTS.registry}`, REGISTRY_TOKEN: token }, timeout: 20_000 },
        (error, stdout, stderr) => (error ? fail(new Error(`${error.message}\n${stderr}`)) : done(stdout)),
      ),
    );
    const { instances } = JSON.parse(listed) as { instances: { address: string; state: string }[] };
    expect(instances.map((i) => [i.address, i.state]).sort()).toEqual([[`127.0.0.1:${DEFAULT_PORTS.user}`, 'SERVING'], [secondAddress, 'SERVING']].sort());
    expect(await checkHealth(secondAddress)).toBe('SERVING');
    // A replica that dies is restarted as itself: same name, same port.
    const secondPid = Number(/"pid":(\d+)/.exec(started.output.find((line) => line.startsWith('user-2') && line.includes('"pid":'))!)![1]);
    process.kill(secondPid, 'SIGKILL');
    await started.waitForLine(/^user-2 .*\[npm start\] restarted and SERVING/, 30_000);
    expect(await checkHealth(secondAddress)).toBe('SERVING');
    // Serving comes a moment before the registry has its registration: wait for it, so the stop finds one to withdraw.
    await started.waitForLine(new RegExp(`^user-2 .*"pid":(?!${secondPid},)\\d+,.*"msg":"registered with the registry"`), 10_000);
    const signalledAt = Date.now();
    send(started, 'SIGINT', 'group');
    await expectAllGone(started, signalledAt);
    expect(await started.exited).toEqual({ code: 0, signal: null });
    // The restarted replica deregistered at the stop (the one killed could not).
    // On failure the received object shows every message of user-2, to tell why.
    const messages = started.output.filter((line) => line.startsWith('user-2')).map((line) => /"msg":"([^"]*)"/.exec(line)?.[1] ?? line);
    expect({ deregistrations: messages.filter((message) => message === 'deregistered from the registry').length, messages }).toMatchObject({ deregistrations: 1 });
  });

  it.each([
    [['--replicas', 'user=17'], '"user=17": the count must be a whole number from 1 to 16'],
    [['--replicas=billing=2'], 'no app named "billing"'],
    [['--replicas', 'registry=2'], 'only user and order run replicas'],
  ])('%j: exits 2 saying why, and starts nothing', async (args, message) => {
    const started = start('runner', {}, args);
    expect(await started.exited).toEqual({ code: 2, signal: null });
    expect(started.output.join('\n')).toContain(message);
    expect(started.seenApps.size).toBe(0);
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
