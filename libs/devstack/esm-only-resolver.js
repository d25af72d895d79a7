// kubernetes-models (and the packages it imports) ship ES modules only: their package `exports`
// have an "import" condition and no "require". Jest resolves for require, so these packages are
// resolved with the import condition here, and jest.config.js has swc turn them into CommonJS.
const ESM_ONLY = /^(kubernetes-models|@kubernetes-models\/[^/]+|is-cidr|cidr-regex)(\/|$)/;

module.exports = (request, options) =>
  options.defaultResolver(request, ESM_ONLY.test(request) ? { ...options, conditions: ['import', 'default', 'node'] } : options);

module.exports.ESM_ONLY_PACKAGES = ['kubernetes-models', '@kubernetes-models', 'is-cidr', 'cidr-regex'];
