// @switchyard/storage/testing: test support, kept out of the main entry point so app code never
// reaches it: a throwaway SQLite directory or PostgreSQL schema per test suite.
export { createScratchStorage, TEST_POSTGRES_URL, type ScratchStorage } from './scratch-storage';
