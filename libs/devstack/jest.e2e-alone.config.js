// The end-to-end files that run one at a time (see e2e-sharing.js).
const base = require('./jest.e2e.config.js');
const { SHARES_THE_MACHINE, fileOf } = require('./e2e-sharing.js');

module.exports = {
  ...base,
  displayName: 'devstack e2e',
  testPathIgnorePatterns: ['/node_modules/', ...SHARES_THE_MACHINE.map(fileOf)],
  maxWorkers: 1,
};
