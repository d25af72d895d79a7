module.exports = {
  ...require('../../libs/testing/jest.preset.js'),
  displayName: 'order',
  rootDir: __dirname,
};
