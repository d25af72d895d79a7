import { ConfigError } from '../config/env-config';

/**
 * Runs an app's main. A configuration error prints what to fix and exits 2; any other start-up
 * failure prints its message and exits 1, so a supervisor (compose, Kubernetes) sees the cause.
 */
export function runMain(main: () => Promise<unknown>): void {
  main().catch((error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`start-up failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
