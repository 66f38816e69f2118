import type { Pool, PoolClient } from 'pg';
import { inTransaction } from './database-pool.js';
import { SchemaVersionError } from './errors.js';

/** One set of versioned schema changes: the run store's, or another package's in the same schema. */
export interface MigrationSet {
  /** Table (in the schema) that records the versions applied, e.g. `migrations`. */
  table: string;
  /** SQL per version for a schema name, applied in order and never edited once released. */
  steps: readonly ((schema: string) => string)[];
}

/**
 * The store's schema, one entry per version, applied in order and never edited once released: a
 * change is a new entry. Columns holding JSON are `json`, not `jsonb`, because the durable log
 * compares stored entries with new ones and `jsonb` would reorder their keys.
 */
const MIGRATIONS: readonly ((schema: string) => string)[] = [
  (schema) => `
    CREATE TABLE ${schema}.runs (
      run_id text PRIMARY KEY,
      created_at bigint NOT NULL,
      header json NOT NULL,
      last_sequence integer NOT NULL DEFAULT 0
    );
    CREATE TABLE ${schema}.run_entries (
      run_id text NOT NULL REFERENCES ${schema}.runs (run_id) ON DELETE CASCADE,
      sequence integer NOT NULL,
      key text NOT NULL,
      type text NOT NULL,
      time bigint NOT NULL,
      data json NOT NULL,
      PRIMARY KEY (run_id, sequence)
    );
    CREATE TABLE ${schema}.run_answers (
      run_id text NOT NULL REFERENCES ${schema}.runs (run_id) ON DELETE CASCADE,
      request_id text NOT NULL,
      answer json NOT NULL,
      answered_at bigint NOT NULL,
      position bigserial NOT NULL,
      PRIMARY KEY (run_id, request_id)
    );
    CREATE TABLE ${schema}.run_leases (
      run_id text PRIMARY KEY REFERENCES ${schema}.runs (run_id) ON DELETE CASCADE,
      owner text NOT NULL,
      expires_at timestamptz NOT NULL
    );`,
];

/** The newest schema version this package writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the run store's tables in `schema` up to {@link SCHEMA_VERSION}. */
export function migrate(pool: Pool, schema: string): Promise<void> {
  return runMigrations(pool, schema, { table: 'migrations', steps: MIGRATIONS }, '@hopgen/postgres');
}

/**
 * Applies the versions of `set` that `schema` lacks, in one transaction. Safe to call from many
 * processes at once: a transaction-level advisory lock on the schema's name lets one of them
 * migrate while the others wait and then find nothing to do.
 */
export async function runMigrations(
  pool: Pool,
  schema: string,
  set: MigrationSet,
  packageName: string,
): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`hopgen-migrations:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.${set.table} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const current = await currentVersion(client, `${schema}.${set.table}`);
    if (current > set.steps.length) {
      throw new SchemaVersionError(
        `Schema ${schema} is at version ${current} of ${set.table}, newer than this ${packageName} knows (${set.steps.length}). Upgrade ${packageName} on this machine.`,
      );
    }
    for (let version = current + 1; version <= set.steps.length; version++) {
      await client.query((set.steps[version - 1] as (schema: string) => string)(schema));
      await client.query(`INSERT INTO ${schema}.${set.table} (version) VALUES ($1)`, [version]);
    }
  });
}

async function currentVersion(client: PoolClient, table: string): Promise<number> {
  const result = await client.query<{ version: number | null }>(
    `SELECT max(version) AS version FROM ${table}`,
  );
  return result.rows[0]?.version ?? 0;
}
