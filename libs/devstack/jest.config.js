module.exports = {
  ...require('../../libs/testing/jest.preset.js'),
  displayName: 'devstack',
  rootDir: __dirname,
};
