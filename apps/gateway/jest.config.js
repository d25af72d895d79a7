const preset = require('../../jest.preset.js');

module.exports = {
  ...preset,
  displayName: 'gateway',
  rootDir: __dirname,
  // jose ships only ES modules, which jest cannot require on Node 20: swc makes them CommonJS.
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  transform: {
    ...preset.transform,
    '/node_modules/jose/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
};
