const preset = require('../../jest.preset.js');

module.exports = {
  ...preset,
  displayName: 'registry',
  rootDir: __dirname,
  transform: {
    ...preset.transform,
    '\\.(html|css|client\\.js)$': `${__dirname}/jest.text-transform.js`,
  },
};
