// A NATS server with JetStream of the test's own, on a free loopback port with a temporary store,
// that the test can pause (SIGSTOP: a broker that stops answering), kill and restart. Needs
// nats-server (Debian: nats-server); a test that needs it fails, naming the package, when it is missing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './eventually';
import { freePort } from './free-port';

/** The nats-server binary: /usr/sbin/nats-server or `nats-server` on PATH; undefined when neither exists. */
export function findNatsServer(): string | undefined {
  for (const candidate of ['/usr/sbin/nats-server', '/usr/bin/nats-server', 'nats-server']) {
    if (spawnSync(candidate, ['--version'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  return undefined;
}

export interface NatsServer {
  /** nats://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** SIGSTOP: connections stay open and nothing answers, like a hung host. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** SIGKILLs the server and waits until it is gone; its store survives for restart(). */
  kill(): Promise<void>;
  /** Starts it again on the same port and store, and waits until it accepts connections. */
  restart(): Promise<void>;
  /** What the server wrote, for failure messages. */
  output(): string;
  /** Kills it and removes its store. */
  stop(): Promise<void>;
}

function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** Starts nats-server with JetStream and resolves once it accepts connections. */
export async function startNatsServer(options: { port?: number } = {}): Promise<NatsServer> {
  const binary = findNatsServer();
  if (!binary) throw new Error('nats-server is not installed (neither /usr/sbin/nats-server nor nats-server on PATH): install it with `apt-get install nats-server`');
  const port = options.port ?? (await freePort());
  const storeDir = mkdtempSync(join(tmpdir(), 'switchyard-nats-'));
  let child: ChildProcess | undefined;
  let output = '';

  const launch = async () => {
    output += `--- start on ${port}\n`;
    child = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const started = child;
    await eventually(async () => {
      if (started.exitCode !== null) throw new Error(`nats-server exited with ${started.exitCode}:\n${output}`);
      return acceptsConnections(port);
    }, 10_000, `nats-server accepting connections on ${port}`);
  };
  const killChild = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGCONT');
    running.kill('SIGKILL');
    await exited;
  };

  await launch();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    kill: killChild,
    restart: launch,
    output: () => output,
    async stop() {
      await killChild();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
