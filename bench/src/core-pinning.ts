import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';

export interface CorePinning {
  /** taskset CPU list for server processes; undefined when not pinned. */
  servers: string | undefined;
  /** taskset CPU list for the load generator; undefined when not pinned. */
  generator: string | undefined;
  /** One line for the report, e.g. "servers on CPU 0, load generator on CPU 1 (taskset)". */
  description: string;
}

function cpuList(from: number, to: number): string {
  return from === to ? String(from) : `${from}-${to}`;
}

function tasksetWorks(): boolean {
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Servers get the first half of the CPUs, the load generator the rest, so the two never compete
 * for a core. Without taskset, or with one CPU, nothing is pinned and the report says so.
 */
export function planCorePinning(cpuCount = cpus().length, available = tasksetWorks()): CorePinning {
  if (!available) return { servers: undefined, generator: undefined, description: 'not pinned (taskset not available)' };
  if (cpuCount < 2) return { servers: undefined, generator: undefined, description: 'not pinned (one CPU: servers and load generator share it)' };
  const split = Math.floor(cpuCount / 2);
  const servers = cpuList(0, split - 1);
  const generator = cpuList(split, cpuCount - 1);
  return { servers, generator, description: `servers on CPU ${servers}, load generator on CPU ${generator} (taskset)` };
}
