import { hostname } from 'node:os';
import type pg from 'pg';

/** A worker's row in `workers`, and the sweep that hands a dead worker's jobs to the living. */
export interface FleetMembership {
  /** Renews this worker's heartbeat; false when another worker already declared it dead. */
  beat(): Promise<boolean>;
  /**
   * Declares dead every worker whose heartbeat is older than `takeoverMs` and frees its jobs: their
   * queue entries are unlocked (graphile-worker's `forceUnlockWorkers`) and their runs' leases are
   * dropped, so another worker picks them up at its next poll and resumes them. Returns the ids of
   * the jobs freed.
   */
  sweep(unlock: (queueWorkerIds: string[]) => Promise<void>): Promise<string[]>;
  /** Removes this worker's row (a clean stop). */
  leave(): Promise<void>;
}

/** Adds worker `id` to the fleet's table. */
export async function joinFleet(
  pool: pg.Pool,
  schema: string,
  id: string,
  pipelines: readonly string[],
  takeoverMs: number,
): Promise<FleetMembership> {
  await pool.query(`INSERT INTO ${schema}.workers (id, host, pid, pipelines) VALUES ($1, $2, $3, $4)`, [
    id,
    hostname(),
    process.pid,
    pipelines,
  ]);
  return {
    async beat() {
      const renewed = await pool.query(
        `UPDATE ${schema}.workers SET heartbeat_at = clock_timestamp() WHERE id = $1`,
        [id],
      );
      return (renewed.rowCount ?? 0) > 0;
    },
    async sweep(unlock) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        // DELETE ... RETURNING: of two workers sweeping at once, each dead worker is claimed by one.
        const dead = await client.query<{ id: string }>(
          `DELETE FROM ${schema}.workers WHERE heartbeat_at < clock_timestamp() - $1 * interval '1 millisecond' RETURNING id`,
          [takeoverMs],
        );
        if (dead.rows.length === 0) {
          await client.query('COMMIT');
          return [];
        }
        const deadIds = dead.rows.map((row) => row.id);
        const jobs = await client.query<{ id: string; queue_worker_id: string | null }>(
          `SELECT id, queue_worker_id FROM ${schema}.jobs WHERE worker_id = ANY($1) AND state = 'running'`,
          [deadIds],
        );
        const jobIds = jobs.rows.map((row) => row.id);
        await client.query(`DELETE FROM ${schema}.run_leases WHERE run_id = ANY($1)`, [jobIds]);
        await client.query('COMMIT');
        const queueWorkerIds = jobs.rows.flatMap((row) => (row.queue_worker_id ? [row.queue_worker_id] : []));
        if (queueWorkerIds.length > 0) await unlock(queueWorkerIds);
        return jobIds;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    async leave() {
      await pool.query(`DELETE FROM ${schema}.workers WHERE id = $1`, [id]);
    },
  };
}
