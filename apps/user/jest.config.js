module.exports = {
  ...require('../../libs/testing/jest.preset.js'),
  displayName: 'user',
  rootDir: __dirname,
};
