import { inTransaction } from '@hopgen/postgres/internal';
import type pg from 'pg';

/**
 * The fleet-wide cap on live sandboxes, kept in the database so that it holds across every worker
 * on every machine: a job holds one slot (a row) while it runs. Slots are counted and taken under
 * one advisory lock, so two workers never both take the last one; a dead worker's slots go with
 * its row in `workers` when another worker declares it dead.
 */
export class SandboxSlots {
  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #limit: number;

  constructor(pool: pg.Pool, schema: string, limit: number) {
    this.#pool = pool;
    this.#schema = schema;
    this.#limit = limit;
  }

  /** Takes a slot for `jobId` on `workerId`, waiting (polling every `pollMs`) while all are taken. */
  async take(jobId: string, workerId: string, signal: AbortSignal, pollMs = 250): Promise<void> {
    for (;;) {
      signal.throwIfAborted();
      if (await this.#tryTake(jobId, workerId)) return;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  async #tryTake(jobId: string, workerId: string): Promise<boolean> {
    return inTransaction(this.#pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `hopgen-sandbox-slots:${this.#schema}`,
      ]);
      // A job taken over from a dead worker keeps its slot: the row moves to the new worker.
      const taken = await client.query<{ others: string }>(
        `SELECT count(*) AS others FROM ${this.#schema}.sandbox_slots WHERE job_id <> $1`,
        [jobId],
      );
      const free = Number(taken.rows[0]?.others ?? 0) < this.#limit;
      if (free) {
        await client.query(
          `INSERT INTO ${this.#schema}.sandbox_slots (job_id, worker_id) VALUES ($1, $2)
           ON CONFLICT (job_id) DO UPDATE SET worker_id = excluded.worker_id, taken_at = clock_timestamp()`,
          [jobId, workerId],
        );
      }
      return free;
    });
  }

  /** Gives `jobId`'s slot back, unless another worker took the job (and its slot) over meanwhile. */
  async release(jobId: string, workerId: string): Promise<void> {
    await this.#pool.query(`DELETE FROM ${this.#schema}.sandbox_slots WHERE job_id = $1 AND worker_id = $2`, [
      jobId,
      workerId,
    ]);
  }
}
