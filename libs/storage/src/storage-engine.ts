/** The SQL engines a service's storage can run on. */
export type StorageEngine = 'sqlite' | 'postgres';

/** Which engine `openDatabase` picks for these settings: PostgreSQL when a URL is given. */
export function storageEngineFor(databaseUrl: string | undefined): StorageEngine {
  return databaseUrl ? 'postgres' : 'sqlite';
}
