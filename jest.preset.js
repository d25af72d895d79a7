// Shared jest settings: TypeScript through swc (no type checking here; `typecheck` does that)
// and the same @switchyard/* path aliases as tsconfig.base.json.
const path = require('node:path');

const workspaceRoot = __dirname;

module.exports = {
  testEnvironment: 'node',
  testMatch: ['**/*.test.ts'],
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
    '^@switchyard/storage/testing$': `${workspaceRoot}/libs/storage/src/testing.ts`,
  },
  testTimeout: 30000,
};
