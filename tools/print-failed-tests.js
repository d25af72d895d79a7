// Prints the failures that tools/failed-tests-reporter.js collected during `npm test`, last in the
// log; `--clear` forgets an earlier run's (tools/run-tests.sh runs it first). The exit code stays the
// caller's.
const { existsSync, readFileSync, rmSync } = require('node:fs');
const { FAILURES_FILE } = require('./failed-tests-reporter');

if (process.argv.includes('--clear')) {
  rmSync(FAILURES_FILE, { force: true });
} else if (existsSync(FAILURES_FILE)) {
  const failures = readFileSync(FAILURES_FILE, 'utf8').trim();
  if (failures !== '') process.stdout.write(`\nFailed tests (all projects):\n\n${failures}\n`);
}
