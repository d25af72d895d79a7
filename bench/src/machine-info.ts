import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';

export interface MachineInfo {
  cpus: number;
  model: string;
  totalMemoryMb: number;
  platform: string;
  node: string;
  /** HEAD of the checkout, with `-dirty` when it has uncommitted changes; `unknown` outside git. */
  gitCommit: string;
}

function git(workspaceRoot: string, args: string[]): string {
  return execFileSync('git', args, { cwd: workspaceRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

function gitCommit(workspaceRoot: string): string {
  try {
    const head = git(workspaceRoot, ['rev-parse', 'HEAD']);
    return git(workspaceRoot, ['status', '--porcelain']) === '' ? head : `${head}-dirty`;
  } catch {
    return 'unknown';
  }
}

export function machineInfo(workspaceRoot: string): MachineInfo {
  const list = cpus();
  return {
    cpus: list.length,
    model: list[0]?.model.trim() ?? 'unknown',
    totalMemoryMb: Math.round(totalmem() / 2 ** 20),
    platform: `${process.platform} ${process.arch}`,
    node: process.version,
    gitCommit: gitCommit(workspaceRoot),
  };
}
