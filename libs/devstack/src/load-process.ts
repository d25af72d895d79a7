import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { LoadPlan, LoadReport } from './load-generator';

/** Runs the built load generator (dist/libs/devstack/load-generator.js) as a child process. */
export function runLoadProcess(workspaceRoot: string, plan: LoadPlan): Promise<LoadReport> {
  const script = join(workspaceRoot, 'dist', 'libs', 'devstack', 'load-generator.js');
  // Every call ends by its deadline, so the run is over by ramp + durationMs + 2 deadlines; the rest is slack.
  const timeout = (plan.rampUpMs ?? 0) + plan.durationMs + 2 * plan.deadlineMs + 30_000;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script, JSON.stringify(plan)], { timeout }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`load generator failed: ${error.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as LoadReport);
    });
  });
}
