import { spawn, type ChildProcess } from 'node:child_process';

export interface ChildOptions {
  /** A built script beside main.js, e.g. `server-child.js`. */
  script: string;
  /** The child's one argument: its spec, as JSON. */
  spec: unknown;
  /** Added to the harness's own environment. */
  env?: Record<string, string>;
  /** CPUs to pin the child to with taskset; undefined leaves it unpinned. */
  cpus?: string;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeFlags?: string[];
  /** Working directory (where --cpu-prof writes its profile). */
  cwd?: string;
}

/**
 * A child Node process with an IPC channel, whose messages are awaited by type. Its stdout
 * (the logs of the servers, at info) goes to /dev/null; its stderr is the harness's.
 */
export class BenchChild<In extends { type: string }, Out extends { type: string }> {
  readonly process: ChildProcess;
  readonly exited: Promise<number | null>;
  private readonly listeners = new Map<string, Array<(message: Out) => void>>();
  private exitError: Error | undefined;

  constructor(readonly name: string, options: ChildOptions) {
    const nodeArgs = [...(options.nodeFlags ?? []), options.script, JSON.stringify(options.spec)];
    const [command, args] = options.cpus === undefined ? [process.execPath, nodeArgs] : ['taskset', ['-c', options.cpus, process.execPath, ...nodeArgs]];
    this.process = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    this.process.on('message', (message: Out) => {
      for (const listener of this.listeners.get(message.type) ?? []) listener(message);
    });
    this.exited = new Promise((resolve) =>
      this.process.once('exit', (code, signal) => {
        this.exitError = new Error(`${name} exited (${signal ?? `code ${code}`})`);
        for (const listener of this.listeners.get('exit') ?? []) listener({ type: 'exit' } as Out);
        resolve(code);
      }),
    );
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  send(message: In): void {
    if (this.process.connected) this.process.send(message);
  }

  on<T extends Out['type']>(type: T, listener: (message: Extract<Out, { type: T }>) => void): void {
    const list = this.listeners.get(type) ?? [];
    list.push(listener as (message: Out) => void);
    this.listeners.set(type, list);
  }

  /** The next message of `type`; rejects on a `failed` message, an early exit, or after `timeoutMs`. */
  next<T extends Out['type']>(type: T, timeoutMs: number): Promise<Extract<Out, { type: T }>> {
    if (this.exitError) return Promise.reject(this.exitError);
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (action: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        action();
      };
      const timer = setTimeout(() => settle(() => reject(new Error(`${this.name}: no '${type}' within ${timeoutMs} ms`))), timeoutMs);
      this.on(type, (message) => settle(() => resolve(message)));
      this.on('failed' as T, (message) => settle(() => reject(new Error(`${this.name} failed: ${(message as unknown as { message: string }).message}`))));
      this.on('exit' as T, () => settle(() => reject(this.exitError)));
    });
  }

  /** Waits for the exit, killing the child after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<void> {
    const timer = setTimeout(() => this.process.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}
