module.exports = {
  ...require('../../jest.e2e-preset.js'),
  displayName: 'registry e2e',
  rootDir: __dirname,
};
