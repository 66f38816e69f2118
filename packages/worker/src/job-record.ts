import type { JsonValue } from '@hopgen/agents';

/**
 * Where a job is: `queued` (waiting for a worker), `running`, `retrying` (failed, waiting for its
 * next attempt), and the ends: `completed`, `cancelled`, `dead` (failed `maxAttempts` times; the
 * error is kept).
 */
export type JobState = 'queued' | 'running' | 'retrying' | 'completed' | 'cancelled' | 'dead';

/** States a job never leaves. */
export const FINAL_STATES: readonly JobState[] = ['completed', 'cancelled', 'dead'];

/** What a finished job stores: one entry per chat of its pipeline, in order. */
export interface JobResult {
  /** Each chat's outcome. */
  chats: {
    /** The chat's id in an `initiateChats` queue, when it has one. */
    chatId?: number | string;
    /** The chat's summary (its `summaryMethod`). */
    summary: string;
    /** Why the chat ended (`max-turns`, `termination-message`...). */
    terminationReason: string;
    /** Total model cost of the chat in dollars; null when a model's price is unknown. */
    cost: number | null;
  }[];
  /** Sum of the chats' known costs, in dollars. */
  cost: number;
}

/** One job as the queue stores it. */
export interface JobRecord {
  /** The job's id; also the id of its durable run in the run store. */
  id: string;
  /** Name of the registered pipeline that runs it. */
  pipeline: string;
  /** The JSON input given at submit time. */
  input: JsonValue | null;
  /** Where it is. */
  state: JobState;
  /** Attempts started so far (a take-over after a worker's death is an attempt). */
  attempts: number;
  /** Attempts allowed before the job is dead. */
  maxAttempts: number;
  /** How many times another worker took it over from a dead one. */
  takeovers: number;
  /** The worker running it, or that ran it last. */
  workerId: string | null;
  /** The chats' results, once completed. */
  result: JobResult | null;
  /** The last error (kept when the job is dead). */
  error: string | null;
  /** Whether someone asked to cancel it. */
  cancelRequested: boolean;
  /** When it was submitted, in milliseconds since the epoch. */
  createdAt: number;
  /** When a worker first started it, in milliseconds since the epoch. */
  startedAt: number | null;
  /** When it reached a final state, in milliseconds since the epoch. */
  finishedAt: number | null;
}

/** The job's columns, as `SELECT ${JOB_COLUMNS} FROM jobs` reads them for {@link toJobRecord}. */
export const JOB_COLUMNS =
  'id, pipeline, input, state, attempts, max_attempts, takeovers, worker_id, result, error, cancel_requested, created_at, started_at, finished_at';

/** A `jobs` row as a {@link JobRecord}. */
export function toJobRecord(row: Record<string, unknown>): JobRecord {
  const time = (value: unknown) => (value instanceof Date ? value.getTime() : null);
  return {
    id: row.id as string,
    pipeline: row.pipeline as string,
    input: (row.input ?? null) as JsonValue | null,
    state: row.state as JobState,
    attempts: row.attempts as number,
    maxAttempts: row.max_attempts as number,
    takeovers: row.takeovers as number,
    workerId: (row.worker_id ?? null) as string | null,
    result: (row.result ?? null) as JobResult | null,
    error: (row.error ?? null) as string | null,
    cancelRequested: row.cancel_requested as boolean,
    createdAt: time(row.created_at) ?? 0,
    startedAt: time(row.started_at),
    finishedAt: time(row.finished_at),
  };
}

/** graphile-worker's task name for a pipeline: a worker registers only the pipelines it has, so it only gets their jobs. */
export function taskName(pipeline: string): string {
  return `hopgen-pipeline:${pipeline}`;
}

/** The channel on which cancellations are announced to the workers (payload: the job id). */
export const CANCEL_CHANNEL = 'hopgen_job_cancelled';
