module.exports = {
  ...require('../../libs/testing/jest.preset.js'),
  displayName: 'storage',
  rootDir: __dirname,
};
