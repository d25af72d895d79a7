// @switchyard/testing: harnesses for tests. Never imported by app code.
export * from './test-server';
