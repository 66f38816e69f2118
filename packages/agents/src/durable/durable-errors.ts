import { HopgenError } from '../errors.js';

/** A run, a request or a snapshot cannot be found or read. The message names which and why. */
export class RunNotFoundError extends HopgenError {}

/** Another live process is running this run. Wait for it, or stop it before resuming. */
export class RunLockedError extends HopgenError {}

/**
 * An append came from a process whose lease on the run was taken over (it was paused longer than
 * the lease and another process resumed the run). The append is refused so the run keeps one
 * writer; the process that lost the lease must stop the run, the new holder goes on.
 */
export class LeaseLostError extends RunLockedError {}

/** The error a store throws for a fenced append whose writer no longer holds the run's lease. */
export function leaseLost(runId: string): LeaseLostError {
  return new LeaseLostError(
    `Run ${runId} is no longer leased to this writer: its lease was released or taken over by another process, so this append was refused. Stop this run here; the lease holder goes on with it.`,
  );
}

/** A snapshot does not match any known schema version; the message lists the first problems. */
export class InvalidSnapshotError extends HopgenError {}

/**
 * A resumed run took another path than the stored one: a reply function, selector or message
 * function gave a different answer the second time. Make them depend only on the conversation.
 */
export class RunDivergedError extends HopgenError {}

/** A request was answered twice, answered with the wrong kind of answer, or does not exist. */
export class RequestAnswerError extends HopgenError {}

/** A durable run was given options that cannot be stored as JSON (functions, agents by object). */
export class NotDurableError extends HopgenError {}

/**
 * A pipeline cannot start or resume a run: its input does not match the pipeline's schema, or the
 * run was started by another pipeline (or by `startChat`). The message names the field or the run.
 */
export class PipelineError extends HopgenError {}
