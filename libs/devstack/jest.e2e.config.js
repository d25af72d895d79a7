module.exports = {
  ...require('../../jest.e2e-preset.js'),
  displayName: 'devstack e2e',
  rootDir: __dirname,
};
