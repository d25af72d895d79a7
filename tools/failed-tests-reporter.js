// A jest reporter that appends each failed test (project, file, name, the start of its message) to
// dist/failed-tests.txt, so that `npm test` can list every failure again at the end of a long run,
// where a CI log's tail shows it, instead of only the name of the task that failed.
const { appendFileSync, mkdirSync } = require('node:fs');
const { dirname, join, relative } = require('node:path');

const workspaceRoot = join(__dirname, '..');
const FAILURES_FILE = join(workspaceRoot, 'dist', 'failed-tests.txt');
const MESSAGE_LINES = 12;

// Jest's messages carry terminal colours; the summary is read in plain logs.
const plain = (text) => text.replace(/\u001b\[[0-9;]*m/g, '');

// Stack frames of jest and node say nothing about the failure; the test's own frames stay.
const isLibraryFrame = (line) => /^\s*at /.test(line) && (line.includes('node_modules') || !line.includes('/'));

const excerpt = (message) =>
  plain(message)
    .split('\n')
    .filter((line) => line.trim() !== '' && !isLibraryFrame(line))
    .slice(0, MESSAGE_LINES)
    .map((line) => `    ${line}`)
    .join('\n');

class FailedTestsReporter {
  constructor(globalConfig) {
    this.globalConfig = globalConfig;
  }

  onTestResult(test, result) {
    const project = test.context.config.displayName?.name ?? 'tests';
    const file = relative(workspaceRoot, result.testFilePath);
    const entries = [];
    if (result.testExecError) entries.push(`${project} | ${file} | the file did not run\n${excerpt(result.testExecError.message ?? String(result.testExecError))}`);
    for (const assertion of result.testResults) {
      if (assertion.status !== 'failed') continue;
      entries.push(`${project} | ${file} | ${assertion.fullName}\n${excerpt(assertion.failureMessages.join('\n'))}`);
    }
    if (entries.length === 0) return;
    mkdirSync(dirname(FAILURES_FILE), { recursive: true });
    appendFileSync(FAILURES_FILE, `${entries.join('\n\n')}\n\n`);
  }
}

FailedTestsReporter.FAILURES_FILE = FAILURES_FILE;
module.exports = FailedTestsReporter;
