module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'order',
  rootDir: __dirname,
};
