import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export interface GrpcurlResult {
  stdout: string;
  stderr: string;
  /** Exit code; grpcurl exits with 64 + the gRPC status code when a call fails. */
  code: number;
}

/** The workspace root: the nearest directory above this file holding nx.json. */
function workspaceRoot(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}

/** Where grpcurl would be looked for, in order: $GRPCURL, then <workspace root>/../shared/tools/grpcurl. */
export function grpcurlCandidates(): string[] {
  return [process.env.GRPCURL, resolve(workspaceRoot(), '..', 'shared', 'tools', 'grpcurl')].filter((path): path is string => !!path);
}

/** The first executable grpcurl among `grpcurlCandidates()`, or undefined (a fresh clone has none). */
export function findGrpcurl(): string | undefined {
  return grpcurlCandidates().find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Runs grpcurl with `args` (no shell); resolves with its output and exit code, whatever the code. */
export function runGrpcurl(args: string[], options: { timeoutMs?: number } = {}): Promise<GrpcurlResult> {
  const binary = findGrpcurl();
  if (!binary) return Promise.reject(new Error(`grpcurl not found at ${grpcurlCandidates().join(' or ')}`));
  return new Promise((done) => {
    execFile(binary, args, { timeout: options.timeoutMs ?? 20_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ stdout, stderr, code });
    });
  });
}
