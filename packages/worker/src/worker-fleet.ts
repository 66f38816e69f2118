import { hostname } from 'node:os';
import { inTransaction } from '@hopgen/postgres/internal';
import type pg from 'pg';

/** A worker's row in `workers`, and the sweep that hands a dead worker's jobs to the living. */
export interface FleetMembership {
  /** Renews this worker's heartbeat; false when another worker already declared it dead. */
  beat(): Promise<boolean>;
  /** Adds the worker's row again after it was declared dead (its jobs were handed over meanwhile). */
  rejoin(): Promise<void>;
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
  const join = () =>
    pool.query(
      `INSERT INTO ${schema}.workers (id, host, pid, pipelines) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = clock_timestamp()`,
      [id, hostname(), process.pid, pipelines],
    );
  await join();
  return {
    async rejoin() {
      await join();
    },
    async beat() {
      const renewed = await pool.query(
        `UPDATE ${schema}.workers SET heartbeat_at = clock_timestamp() WHERE id = $1`,
        [id],
      );
      return (renewed.rowCount ?? 0) > 0;
    },
    async sweep(unlock) {
      const jobs = await inTransaction(pool, async (client) => {
        // DELETE ... RETURNING: of two workers sweeping at once, each dead worker is claimed by one.
        const dead = await client.query<{ id: string }>(
          `DELETE FROM ${schema}.workers WHERE heartbeat_at < clock_timestamp() - $1 * interval '1 millisecond' RETURNING id`,
          [takeoverMs],
        );
        if (dead.rows.length === 0) return [];
        const freed = await client.query<{ id: string; queue_worker_id: string | null }>(
          `SELECT id, queue_worker_id FROM ${schema}.jobs WHERE worker_id = ANY($1) AND state = 'running'`,
          [dead.rows.map((row) => row.id)],
        );
        await client.query(`DELETE FROM ${schema}.run_leases WHERE run_id = ANY($1)`, [
          freed.rows.map((row) => row.id),
        ]);
        return freed.rows;
      });
      const queueWorkerIds = jobs.flatMap((row) => (row.queue_worker_id ? [row.queue_worker_id] : []));
      if (queueWorkerIds.length > 0) await unlock(queueWorkerIds);
      return jobs.map((row) => row.id);
    },
    async leave() {
      await pool.query(`DELETE FROM ${schema}.workers WHERE id = $1`, [id]);
    },
  };
}
