const preset = require('../../jest.preset.js');
const { ESM_ONLY_PACKAGES } = require('./esm-only-resolver.js');

module.exports = {
  ...preset,
  displayName: 'devstack',
  rootDir: __dirname,
  // The manifest tests validate with kubernetes-models, which ships ES modules only.
  resolver: `${__dirname}/esm-only-resolver.js`,
  transform: { '^.+\\.(ts|js)$': preset.transform['^.+\\.ts$'] },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY_PACKAGES.join('|')})/)`],
};
