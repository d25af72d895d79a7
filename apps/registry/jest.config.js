module.exports = {
  ...require('../../libs/testing/jest.preset.js'),
  displayName: 'registry',
  rootDir: __dirname,
};
