import { type MigrationSet, runMigrations } from '@hopgen/postgres';
import { Logger, runMigrations as runQueueMigrations } from 'graphile-worker';
import type pg from 'pg';

/**
 * The worker's own tables, next to the run store's in the same schema: the jobs users see (state,
 * input, result, error), the live workers (their heartbeats decide take-overs) and the fleet-wide
 * sandbox slots. graphile-worker keeps its queue in its own schema, `graphile_worker`.
 */
const WORKER_MIGRATIONS: MigrationSet = {
  table: 'worker_migrations',
  steps: [
    (schema) => `
      CREATE TABLE ${schema}.jobs (
        id text PRIMARY KEY,
        pipeline text NOT NULL,
        input json,
        state text NOT NULL DEFAULT 'queued',
        attempts integer NOT NULL DEFAULT 0,
        max_attempts integer NOT NULL,
        takeovers integer NOT NULL DEFAULT 0,
        worker_id text,
        queue_worker_id text,
        result json,
        error text,
        cancel_requested boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        started_at timestamptz,
        finished_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      CREATE INDEX jobs_state ON ${schema}.jobs (state, created_at);
      CREATE TABLE ${schema}.workers (
        id text PRIMARY KEY,
        host text NOT NULL,
        pid integer NOT NULL,
        pipelines text[] NOT NULL,
        started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        heartbeat_at timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      CREATE TABLE ${schema}.sandbox_slots (
        job_id text PRIMARY KEY REFERENCES ${schema}.jobs (id) ON DELETE CASCADE,
        worker_id text NOT NULL REFERENCES ${schema}.workers (id) ON DELETE CASCADE,
        taken_at timestamptz NOT NULL DEFAULT clock_timestamp()
      );`,
    // Consecutive 429/503 answers of the sandbox service, for the job's backoff.
    (schema) => `ALTER TABLE ${schema}.jobs ADD COLUMN busy_retries integer NOT NULL DEFAULT 0;`,
  ],
};

/** Migrates graphile-worker's queue and the worker's tables; safe from many processes at once. */
export async function migrateWorkerSchema(pool: pg.Pool, schema: string): Promise<void> {
  await runQueueMigrations({ pgPool: pool, logger: quietLogger });
  await runMigrations(pool, schema, WORKER_MIGRATIONS, '@hopgen/worker');
}

/** graphile-worker's log lines (job started, job completed) stay out of the user's terminal; errors still surface as job errors. */
export const quietLogger = new Logger(() => () => {});
