// Test support: `npm start`, or its runner alone, as a child process in a process group of its own
// (as a terminal runs it), with its output collected and the apps it started found in /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineSplitter } from './line-splitter';
import { PortReservations } from './port-reservations';

export interface RunnerProcessOptions {
  workspaceRoot: string;
  /** `npm` runs `npm start` (build, then the runner); `runner` runs dist/libs/devstack/main.js. */
  via: 'npm' | 'runner';
  env: NodeJS.ProcessEnv;
  /** After `npm start` or the runner's script, as a terminal passes them (`--replicas user=2`). */
  args?: string[];
}

/** pid, parent pid and command line of every process on this machine (Linux /proc). */
function listProcesses(): { pid: number; ppid: number; state: string; command: string }[] {
  const result = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      result.push({ pid: Number(entry), ppid: Number(ppid), state, command });
    } catch {
      // exited while we looked
    }
  }
  return result;
}

/** True while `pid` runs (a zombie waiting to be reaped counts as gone). */
export function isAlive(pid: number): boolean {
  const process = listProcesses().find((p) => p.pid === pid);
  return process !== undefined && process.state !== 'Z';
}

/** True while any process of group `pgid` runs. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Throws naming the first of `ports` in use; holding them all for a moment is the check. */
export async function expectPortsFree(ports: number[]): Promise<void> {
  await (await PortReservations.hold(ports)).releaseAll();
}

export async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 60_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export class RunnerProcess {
  readonly child: ChildProcess;
  readonly output: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /** Every app pid seen below this process so far, by app (see trackApps). */
  readonly seenApps = new Map<number, string>();
  private tracker: NodeJS.Timeout | undefined;

  constructor(private readonly options: RunnerProcessOptions) {
    const [command, args] =
      options.via === 'npm' ? ['npm', ['start', ...(options.args ?? [])]] : [process.execPath, [join(options.workspaceRoot, 'dist', 'libs', 'devstack', 'main.js'), ...(options.args ?? [])]];
    this.child = spawn(command, args, { cwd: options.workspaceRoot, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (line: string) => void this.output.push(line);
    this.child.stdout?.setEncoding('utf8').on('data', lineSplitter(collect));
    this.child.stderr?.setEncoding('utf8').on('data', lineSplitter(collect));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    // Apps outlive a runner killed outright, and are no longer found below it then.
    this.tracker = setInterval(() => {
      for (const [app, pid] of Object.entries(this.appPids())) if (pid) this.seenApps.set(pid, app);
    }, 50);
  }

  /** Apps seen so far that still run. */
  liveApps(): string[] {
    return [...this.seenApps].filter(([pid]) => isAlive(pid)).map(([pid, app]) => `${app} (pid ${pid})`);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits for an output line matching `pattern`; fails early if the process exits. */
  async waitForLine(pattern: RegExp, timeoutMs = 60_000): Promise<string> {
    return waitFor(
      `a line matching ${pattern}`,
      () => {
        const line = this.output.find((l) => pattern.test(l));
        if (!line && !this.running) throw new Error(`${this.options.via} exited before printing ${pattern}:\n${this.output.join('\n')}`);
        return line;
      },
      timeoutMs,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${this.output.slice(-30).join('\n')}`);
    });
  }

  /** The runner's pid: npm's child once the start script execs it, else this process. */
  runnerPid(): number | undefined {
    if (this.options.via === 'runner') return this.pid;
    return this.descendants().find((p) => p.command.includes('dist/libs/devstack/main.js'))?.pid;
  }

  /** pid of each running app this runner started, by app name. */
  appPids(): Partial<Record<string, number>> {
    const pids: Partial<Record<string, number>> = {};
    for (const p of this.descendants()) {
      const match = /dist\/apps\/(\w+)\/main\.js/.exec(p.command);
      if (match && p.state !== 'Z') pids[match[1]] = p.pid;
    }
    return pids;
  }

  /** Every live process below this one. */
  descendants(): { pid: number; ppid: number; state: string; command: string }[] {
    const all = listProcesses();
    const found: typeof all = [];
    const parents = new Set([this.pid]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const p of all) {
        if (parents.has(p.ppid) && !parents.has(p.pid)) {
          parents.add(p.pid);
          found.push(p);
          grew = true;
        }
      }
    }
    return found;
  }

  /** Last resort after a test: SIGKILL to the group and to every app seen, then waits for them to go. */
  async killAll(): Promise<void> {
    clearInterval(this.tracker);
    const apps = listProcesses().filter((p) => this.seenApps.has(p.pid) && p.command.includes('dist/apps/'));
    for (const { pid } of apps) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    if (groupAlive(this.pid)) process.kill(-this.pid, 'SIGKILL');
    await waitFor('killed apps gone', () => this.liveApps().length === 0, 5000);
  }
}
