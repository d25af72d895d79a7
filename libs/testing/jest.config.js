module.exports = {
  ...require('../../libs/testing/jest.preset.js'),
  displayName: 'testing',
  rootDir: __dirname,
};
