// Jest settings of the `e2e` targets: the shared ones, but only the tests of the built apps and
// harness that jest.preset.js leaves out of `test`.
const preset = require('./jest.preset.js');

module.exports = {
  ...preset,
  testMatch: ['**/*.e2e.test.ts', '**/*.smoke.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
};
