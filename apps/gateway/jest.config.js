module.exports = {
  ...require('../../libs/testing/jest.preset.js'),
  displayName: 'gateway',
  rootDir: __dirname,
};
