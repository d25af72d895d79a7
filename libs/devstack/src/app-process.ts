import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { healthCheckCredentials, healthChecker } from './health-check';
import { lineSplitter } from './line-splitter';

export interface AppProcessOptions {
  workspaceRoot: string;
  app: string;
  /** What its output and messages call this instance (`user-2` for a second replica). Default: `app`. */
  name?: string;
  /** The app's whole environment. */
  env: Record<string, string>;
  /** Receives each line the app writes (stdout and stderr). */
  onLine?: (line: string) => void;
  /**
   * Runs the app in a process group of its own, so a terminal's Ctrl-C reaches only the runner,
   * which then stops the apps in order. Default: the runner's group.
   */
  ownProcessGroup?: boolean;
}

/** A built app (`dist/apps/<app>/main.js`) running as a child process. */
export class AppProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly options: AppProcessOptions) {
    const main = join(options.workspaceRoot, 'dist', 'apps', options.app, 'main.js');
    this.child = spawn(process.execPath, ['--enable-source-maps', main], {
      cwd: options.workspaceRoot,
      env: options.env,
      // The IPC channel is never used for messages: it closes when this process dies, even of
      // SIGKILL, and the app then stops on its own (see startService).
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: options.ownProcessGroup ?? false,
    });
    const onLine = (line: string) => {
      this.lines.push(line);
      options.onLine?.(line);
    };
    this.child.stdout?.setEncoding('utf8').on('data', lineSplitter(onLine));
    this.child.stderr?.setEncoding('utf8').on('data', lineSplitter(onLine));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get name(): string {
    return this.options.name ?? this.options.app;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Waits until the app's health service says SERVING at `address`; fails early if it exits. The
   * limit is generous: an app starts in a second or two, but a machine busy with other work can
   * take many times that, and giving up early fails a test that would have passed.
   */
  async waitUntilServing(address: string, timeoutMs = 45_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const checker = healthChecker(address, healthCheckCredentials(this.options.env));
    try {
      while (Date.now() < deadline) {
        if (!this.running) throw new Error(`${this.name} exited before serving:\n${this.lines.slice(-20).join('\n')}`);
        const status = await checker.check('', 2000).catch(() => 'UNREACHABLE');
        if (status === 'SERVING') return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      checker.close();
    }
    throw new Error(`${this.name} not SERVING at ${address} after ${timeoutMs} ms:\n${this.lines.slice(-20).join('\n')}`);
  }

  /** Sends a signal and waits for the exit (SIGKILL after `timeoutMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000) {
    if (!this.running) return this.exited;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}
