// Shared jest settings: TypeScript through swc (no type checking here; `typecheck` does that)
// and the same @switchyard/* path aliases as tsconfig.base.json.
const workspaceRoot = __dirname;

// Tests of the BUILT apps and harness (dist/), as child processes: `*.e2e.test.ts` and the bench's
// `*.smoke.test.ts`. The `e2e` targets run them after the builds (jest.e2e-preset.js); the `test`
// targets leave them out, so they need no build and stay quick.
const E2E_TESTS = '\\.(e2e|smoke)\\.test\\.ts$';

module.exports = {
  testEnvironment: 'node',
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', E2E_TESTS],
  // Keeps SQLite errors real errors in every test file of a process (see the file).
  setupFiles: [`${workspaceRoot}/jest.setup.js`],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'commonjs' },
        sourceMaps: 'inline',
      },
    ],
  },
  moduleNameMapper: {
    '^@switchyard/(proto|runtime|storage|testing)$': `${workspaceRoot}/libs/$1/src/index.ts`,
    '^@switchyard/runtime/testing$': `${workspaceRoot}/libs/runtime/src/testing.ts`,
    '^@switchyard/storage/testing$': `${workspaceRoot}/libs/storage/src/testing.ts`,
  },
  testTimeout: 30000,
  // Failures are also collected for the summary `npm test` prints last (see the reporter).
  reporters: ['default', `${workspaceRoot}/tools/failed-tests-reporter.js`],
};
