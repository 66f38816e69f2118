import { randomUUID } from 'node:crypto';
import type { JsonValue } from '@hopgen/agents';
import type { DatabaseConnectionOptions } from '@hopgen/postgres';
import { checkSchemaName, inTransaction, openDatabasePool } from '@hopgen/postgres/internal';
import type pg from 'pg';
import { InvalidWorkerOptionError, JobNotFoundError } from './errors.js';
import {
  CANCEL_CHANNEL,
  FINAL_STATES,
  JOB_COLUMNS,
  type JobRecord,
  type JobState,
  taskName,
  toJobRecord,
} from './job-record.js';
import { migrateWorkerSchema } from './worker-schema.js';

/** Options of {@link JobQueue}. */
export interface JobQueueOptions extends DatabaseConnectionOptions {
  /** Schema of the worker's and the run store's tables. @default 'hopgen' */
  schema?: string;
}

/** Options of {@link JobQueue.submit}. */
export interface SubmitJobOptions {
  /** The job's id (and its run's). @default a random UUID */
  id?: string;
  /** Attempts before the job is dead, counting take-overs after a worker's death. @default 5 */
  maxAttempts?: number;
}

/** Options of {@link JobQueue.list}. */
export interface ListJobsOptions {
  /** Only jobs in this state. @default every state */
  state?: JobState;
  /** At most this many, newest first. @default 1000 */
  limit?: number;
}

/**
 * Submits pipeline jobs and reads, waits for and cancels them: what a web server, a script or
 * `hopgen submit` and `hopgen jobs` use. The job's row and its queue entry are written in one
 * transaction, so a job is never listed without being queued, or queued without being listed.
 */
export class JobQueue {
  /** The schema of the tables. */
  readonly schema: string;
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #ready: Promise<void>;

  constructor(options: JobQueueOptions = {}) {
    this.schema = checkSchemaName(options.schema ?? 'hopgen');
    const { pool, owned } = openDatabasePool(options);
    this.#pool = pool;
    this.#ownsPool = owned;
    this.#ready = migrateWorkerSchema(pool, this.schema);
    this.#ready.catch(() => {});
  }

  /** Queues a job of pipeline `pipeline` with `input` and returns it as stored. */
  async submit(
    pipeline: string,
    input: JsonValue | undefined,
    options: SubmitJobOptions = {},
  ): Promise<JobRecord> {
    if (typeof pipeline !== 'string' || pipeline.trim() === '') {
      throw new InvalidWorkerOptionError(
        "submit needs a pipeline name, e.g. queue.submit('report', { topic: 'tides' }).",
      );
    }
    const maxAttempts = options.maxAttempts ?? 5;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new InvalidWorkerOptionError(
        `maxAttempts must be a whole number of at least 1 (got ${options.maxAttempts}).`,
      );
    }
    const id = options.id ?? randomUUID();
    await this.#ready;
    return inTransaction(this.#pool, async (client) => {
      const inserted = await client.query(
        `INSERT INTO ${this.schema}.jobs (id, pipeline, input, max_attempts) VALUES ($1, $2, $3, $4) RETURNING ${JOB_COLUMNS}`,
        [id, pipeline, input === undefined ? null : JSON.stringify(input), maxAttempts],
      );
      await client.query(
        'SELECT graphile_worker.add_job($1, json_build_object($2::text, $3::text), max_attempts => $4, job_key => $3)',
        [taskName(pipeline), 'jobId', id, maxAttempts],
      );
      return toJobRecord(inserted.rows[0] as Record<string, unknown>);
    });
  }

  /** The job `id`; throws {@link JobNotFoundError} when there is none. */
  async get(id: string): Promise<JobRecord> {
    await this.#ready;
    const found = await this.#pool.query(`SELECT ${JOB_COLUMNS} FROM ${this.schema}.jobs WHERE id = $1`, [
      id,
    ]);
    const row = found.rows[0] as Record<string, unknown> | undefined;
    if (!row)
      throw new JobNotFoundError(`No job ${id}. List jobs with \`hopgen jobs list\` or queue.list().`);
    return toJobRecord(row);
  }

  /** Jobs, newest first. */
  async list(options: ListJobsOptions = {}): Promise<JobRecord[]> {
    await this.#ready;
    const found = await this.#pool.query(
      `SELECT ${JOB_COLUMNS} FROM ${this.schema}.jobs WHERE ($1::text IS NULL OR state = $1)
       ORDER BY created_at DESC, id LIMIT $2`,
      [options.state ?? null, options.limit ?? 1000],
    );
    return found.rows.map((row) => toJobRecord(row as Record<string, unknown>));
  }

  /**
   * Cancels job `id`: a queued one leaves the queue at once; a running one is stopped by its worker,
   * which also stops its sandbox. Returns the job as it is now (it may still be `running` for a
   * moment; {@link JobQueue.wait} for `cancelled`). A job already finished is left as it is.
   */
  async cancel(id: string): Promise<JobRecord> {
    await this.#ready;
    await inTransaction(this.#pool, async (client) => {
      const marked = await client.query(
        `UPDATE ${this.schema}.jobs SET cancel_requested = true, updated_at = clock_timestamp()
         WHERE id = $1 AND state <> ALL($2) RETURNING state`,
        [id, FINAL_STATES],
      );
      if (marked.rows.length > 0) {
        // Removes the queue entry unless a worker holds it; that worker sees the request instead.
        await client.query('SELECT graphile_worker.remove_job($1)', [id]);
        await client.query(
          `UPDATE ${this.schema}.jobs SET state = 'cancelled', finished_at = clock_timestamp(), updated_at = clock_timestamp()
           WHERE id = $1 AND state IN ('queued', 'retrying')
             AND NOT EXISTS (SELECT 1 FROM graphile_worker.jobs WHERE key = $1 AND locked_at IS NOT NULL)`,
          [id],
        );
        await client.query('SELECT pg_notify($1, $2)', [CANCEL_CHANNEL, id]);
      }
    });
    return this.get(id);
  }

  /**
   * Resolves with the job once it is in a final state (`completed`, `cancelled` or `dead`), calling
   * `onChange` whenever its state changes meanwhile.
   */
  async wait(
    id: string,
    options: { signal?: AbortSignal; onChange?: (job: JobRecord) => void; pollMs?: number } = {},
  ): Promise<JobRecord> {
    let last: JobState | undefined;
    for (;;) {
      options.signal?.throwIfAborted();
      const job = await this.get(id);
      if (job.state !== last) {
        last = job.state;
        options.onChange?.(job);
      }
      if (FINAL_STATES.includes(job.state)) return job;
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 200));
    }
  }

  /** Closes the pool when the queue opened it. */
  async close(): Promise<void> {
    await this.#ready.catch(() => {});
    if (this.#ownsPool) await this.#pool.end();
  }
}
