// Runs in each test file's sandbox before the file itself.
//
// Jest gives every test file its own globals (its own `Error`), but a native addon is loaded once per
// process and shared by all the files that process runs: all of them when jest uses one worker, as on
// a 2-core machine. better-sqlite3 hands its addon the SqliteError class only on first load, so in
// every later file SQLite errors are built from the first file's class: not `instanceof Error` there,
// and `expect(...).rejects.toThrow()` reports a rejected constraint violation as "did not throw".
// Hand the addon this file's SqliteError, the one its code sees through require('better-sqlite3').
const path = require('node:path');
const { SqliteError } = require('better-sqlite3');

const root = path.dirname(require.resolve('better-sqlite3/package.json'));
const bindings = require(require.resolve('bindings', { paths: [root] }));
bindings({ bindings: 'better_sqlite3.node', module_root: root }).setErrorConstructor(SqliteError);
