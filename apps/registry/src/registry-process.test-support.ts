// Test support (not a test): the BUILT registry (dist/apps/registry/main.js) as a child process,
// for tests about what the process as a whole does, such as how much memory it holds.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { composeNodeOptions, eventually, freePort } from '@switchyard/testing';
import { registryCaller, type RegistryCaller } from './registry-calls.test-support';

const workspaceRoot = resolve(__dirname, '../../..');

export interface RegistryProcess {
  address: string;
  pid: number;
  /** The process's resident set size now, in bytes (Linux /proc). */
  rssBytes(): number;
  /** What it wrote, for failure messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it exited. */
  stop(): Promise<void>;
}

/**
 * Starts the built registry with `env` (and PATH, and docker-compose.yml's NODE_OPTIONS: its
 * memory is the shipped process's) on a free port; resolves once `ready` says so
 * (default: once ListServices answers `token`'s call).
 */
export async function startRegistryProcess(
  env: Record<string, string>,
  token: string,
  ready: (probe: RegistryCaller) => Promise<boolean> = async (probe) => (await probe.listServices()) !== undefined,
): Promise<RegistryProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(workspaceRoot, 'dist', 'apps', 'registry', 'main.js')], {
    cwd: workspaceRoot,
    env: { PATH: process.env.PATH ?? '', ...composeNodeOptions(workspaceRoot, 'registry'), GRPC_HOST: '127.0.0.1', GRPC_PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => void (output = (output + chunk.toString()).slice(-20_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const address = `127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
  };
  const probe = registryCaller(address, token);
  try {
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`the registry exited:\n${output}`);
      return await ready(probe);
    }, 15_000, 'the registry to answer');
  } catch (error) {
    await stop();
    throw error;
  } finally {
    probe.close();
  }
  return {
    address,
    pid: child.pid!,
    rssBytes: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024,
    output: () => output,
    stop,
  };
}
