// Loads the dashboard's page files as text in tests, as esbuild's text loader does in the bundle.
module.exports = {
  process: (source) => ({ code: `module.exports = ${JSON.stringify(source)};` }),
};
