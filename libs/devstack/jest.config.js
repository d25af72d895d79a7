module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'devstack',
  rootDir: __dirname,
};
