import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { LoadPlan, LoadReport } from './load-generator';
import type { OrderLoadPlan, OrderLoadReport } from './order-load-generator';

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

/**
 * Runs the built CreateOrder load generator (dist/libs/devstack/order-load-generator.js) as a
 * child process; `signal` ends it early (a test that failed half-way must not leave it running).
 */
export function runOrderLoadProcess(workspaceRoot: string, plan: OrderLoadPlan, signal?: AbortSignal): Promise<OrderLoadReport> {
  const script = join(workspaceRoot, 'dist', 'libs', 'devstack', 'order-load-generator.js');
  // Every order is answered or given up by its start + giveUpAfterMs + one attempt; the rest is slack.
  const timeout = (plan.orders / plan.ratePerSecond) * 1000 + plan.giveUpAfterMs + plan.attemptDeadlineMs + 30_000;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script, JSON.stringify(plan)], { timeout, maxBuffer: 16 * 1024 * 1024, signal }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`order load generator failed: ${error.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as OrderLoadReport);
    });
  });
}
