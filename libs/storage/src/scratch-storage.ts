import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { StorageEngine } from './storage-engine';

/** The PostgreSQL server tests use; override with SWITCHYARD_TEST_POSTGRES_URL. */
export const TEST_POSTGRES_URL = process.env.SWITCHYARD_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Settings for `openDatabase` that point at a place of its own, and a way to remove it. */
export interface ScratchStorage {
  engine: StorageEngine;
  dataDir: string;
  /** Set for PostgreSQL: the test database with search_path pinned to a fresh schema. */
  databaseUrl: string | undefined;
  /** Deletes the temp directory and drops the schema with everything in it. */
  dispose(): Promise<void>;
}

/**
 * Test support: an empty SQLite directory or PostgreSQL schema, so test files run side by side.
 * Fails with a message naming the server when PostgreSQL is unreachable: those tests must not pass
 * without it.
 */
export async function createScratchStorage(engine: StorageEngine, prefix: string): Promise<ScratchStorage> {
  const dataDir = await mkdtemp(path.join(tmpdir(), `${prefix}-`));
  const removeDir = () => rm(dataDir, { recursive: true, force: true });
  if (engine === 'sqlite') return { engine, dataDir, databaseUrl: undefined, dispose: removeDir };

  const schema = `${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  await withAdminClient((client) => client.query(`create schema ${schema}`));
  const url = new URL(TEST_POSTGRES_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    engine,
    dataDir,
    databaseUrl: url.toString(),
    dispose: async () => {
      await withAdminClient((client) => client.query(`drop schema if exists ${schema} cascade`));
      await removeDir();
    },
  };
}

async function withAdminClient(work: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL is required for this test and is not reachable at ${TEST_POSTGRES_URL} (${(error as Error).message}). ` +
        'Start it, or point SWITCHYARD_TEST_POSTGRES_URL at one.',
    );
  }
  try {
    await work(client);
  } finally {
    await client.end();
  }
}
