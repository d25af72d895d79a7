// The end-to-end files that run two at a time (see e2e-sharing.js).
const base = require('./jest.e2e.config.js');
const { SHARES_THE_MACHINE, fileOf } = require('./e2e-sharing.js');

module.exports = {
  ...base,
  displayName: 'devstack e2e',
  testRegex: SHARES_THE_MACHINE.map(fileOf),
  testMatch: undefined,
  maxWorkers: 2,
};
