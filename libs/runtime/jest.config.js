module.exports = {
  ...require('../../libs/testing/jest.preset.js'),
  displayName: 'runtime',
  rootDir: __dirname,
};
