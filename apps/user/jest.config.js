module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'user',
  rootDir: __dirname,
};
