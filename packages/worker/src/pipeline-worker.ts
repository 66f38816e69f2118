import { randomUUID } from 'node:crypto';
import {
  type ChatResult,
  type ConversableAgent,
  type DurableRun,
  GroupChatManager,
  type JsonValue,
  LeaseLostError,
  type Pipeline,
  RunLockedError,
  resumePipeline,
  startPipeline,
} from '@hopgen/agents';
import { honouredCancel } from '@hopgen/agents/internal';
import { type DatabaseConnectionOptions, PostgresRunStore } from '@hopgen/postgres';
import { checkSchemaName, inTransaction, openDatabasePool } from '@hopgen/postgres/internal';
import { EventEmitter } from 'eventemitter3';
import {
  type JobHelpers,
  makeWorkerUtils,
  type Runner,
  run,
  type TaskList,
  type WorkerUtils,
} from 'graphile-worker';
import type pg from 'pg';
import { InvalidWorkerOptionError } from './errors.js';
import { CANCEL_CHANNEL, type JobResult, type JobState, taskName } from './job-record.js';
import { type SandboxServiceOptions, sandboxIdsOf, stopRunSandboxes } from './run-sandboxes.js';
import { SandboxSlots } from './sandbox-slots.js';
import { type FleetMembership, joinFleet } from './worker-fleet.js';
import { migrateWorkerSchema, quietLogger } from './worker-schema.js';

/** Options of {@link startWorker}. */
export interface WorkerOptions extends DatabaseConnectionOptions {
  /** The pipelines this worker runs; it takes only jobs that name one of them. */
  pipelines: readonly Pipeline<any, any>[];
  /** Jobs this worker runs at once. @default 2 */
  concurrency?: number;
  /**
   * Live sandboxes allowed across the whole fleet (every worker on every machine): a job holds one
   * while it runs and waits for one before it starts. Give every worker the same number.
   * @default no limit
   */
  maxSandboxes?: number;
  /**
   * How long a worker may miss its heartbeat before another worker declares it dead and takes its
   * jobs over, in milliseconds. Heartbeats and sweeps run every third of it, so a dead worker's job
   * is picked up again within about `takeoverMs + takeoverMs / 3 + pollIntervalMs`.
   * @default 15000
   */
  takeoverMs?: number;
  /** How often an idle worker looks for jobs due later (retries) or freed by a take-over, in milliseconds; new jobs arrive at once. @default 1000 */
  pollIntervalMs?: number;
  /** Schema of the worker's and the run store's tables. @default 'hopgen' */
  schema?: string;
  /**
   * First wait before a job that failed because the sandbox service answered 429 (rate limited) or
   * 503 (busy) runs again, in milliseconds; it doubles with each such failure in a row, up to 60 s.
   * These attempts do not count toward `maxAttempts`. @default 2000
   */
  busyBackoffMs?: number;
  /** Where the pipelines' sandboxes live, to stop a job's sandbox when the job ends or is cancelled. @default HOPX_BASE_URL and HOPX_API_KEY */
  sandboxes?: SandboxServiceOptions;
  /** This worker's id, shown in `hopgen jobs`. @default a random UUID */
  workerId?: string;
  /**
   * How often a running job's run looks in the run store for a cancel asked there (the server's
   * `POST /api/runs/{runId}/cancel`, `requestCancel`), in milliseconds: such a cancel stops the job
   * within about this long. `hopgen jobs cancel` reaches the worker at once either way. @default 1000
   */
  cancelPollMs?: number;
}

/** What a worker tells its listeners, one event per job step. */
export interface WorkerEvents {
  /** A job started here (`resumed` when it had a run already: a retry or a take-over). */
  'job-started': (event: { jobId: string; pipeline: string; resumed: boolean }) => void;
  /** A job reached a final state here, or failed an attempt (`retrying`). */
  'job-ended': (event: { jobId: string; state: JobState; error?: string }) => void;
  /** This worker declared other workers dead and freed their jobs. */
  'jobs-taken-over': (event: { jobIds: string[] }) => void;
}

/** Node's longest timer, in milliseconds: a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;
const FINAL_AT_START = ['completed', 'cancelled', 'dead'];

/**
 * Runs pipeline jobs from the PostgreSQL queue (graphile-worker), each as a durable run in the
 * same database: a job whose worker dies is taken over by another and resumed from its last
 * checkpoint. Stop it with {@link PipelineWorker.stop}.
 */
export class PipelineWorker extends EventEmitter<WorkerEvents> {
  /** This worker's id. */
  readonly id: string;
  /** The run store the jobs' runs are in. */
  readonly store: PostgresRunStore;
  readonly #options: WorkerOptions;
  readonly #schema: string;
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #pipelines = new Map<string, Pipeline<any, any>>();
  readonly #running = new Map<string, AbortController>();
  /** The agents each running job's pipeline built, so the job's executors (its sandbox) can be closed when it ends. */
  readonly #agents = new Map<string, readonly ConversableAgent[]>();
  readonly #slots: SandboxSlots | undefined;
  #runner: Runner | undefined;
  #utilities: WorkerUtils | undefined;
  #fleet: FleetMembership | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #listener: pg.PoolClient | undefined;

  /** Use {@link startWorker}. */
  constructor(options: WorkerOptions) {
    super();
    if (!Array.isArray(options?.pipelines) || options.pipelines.length === 0) {
      throw new InvalidWorkerOptionError(
        'A worker needs pipelines: startWorker({ pipelines: [definePipeline({ name, build })], connectionString }).',
      );
    }
    for (const pipeline of options.pipelines) {
      if (this.#pipelines.has(pipeline.name)) {
        throw new InvalidWorkerOptionError(
          `Two pipelines are named '${pipeline.name}'. Give each a unique name.`,
        );
      }
      // Same name and input schema, so runs it starts are resumed by the original pipeline elsewhere.
      this.#pipelines.set(pipeline.name, {
        ...pipeline,
        build: async (input, context) => {
          const flow = await pipeline.build(input, context);
          this.#agents.set(context.runId, flow.agents);
          return flow;
        },
      });
    }
    for (const [name, value, minimum] of [
      ['concurrency', options.concurrency, 1],
      ['maxSandboxes', options.maxSandboxes, 1],
      ['takeoverMs', options.takeoverMs, 300],
      ['pollIntervalMs', options.pollIntervalMs, 10],
      ['busyBackoffMs', options.busyBackoffMs, 1],
    ] as const) {
      if (value !== undefined && (!Number.isFinite(value) || value < minimum)) {
        throw new InvalidWorkerOptionError(`${name} must be a number of at least ${minimum} (got ${value}).`);
      }
    }
    const cancelPollMs = options.cancelPollMs;
    // A longer timer fires after 1 ms in Node: the poll would read the database in a tight loop.
    if (
      cancelPollMs !== undefined &&
      (!Number.isFinite(cancelPollMs) || cancelPollMs < 1 || cancelPollMs > MAX_TIMER_MS)
    ) {
      throw new InvalidWorkerOptionError(
        `cancelPollMs must be a number of milliseconds from 1 to ${MAX_TIMER_MS} (Node's longest timer) (got ${cancelPollMs}); the default is 1000.`,
      );
    }
    this.id = options.workerId ?? randomUUID();
    this.#options = options;
    this.#schema = checkSchemaName(options.schema ?? 'hopgen');
    const { pool, owned } = openDatabasePool({ ...options, pool: options.pool });
    this.#pool = pool;
    this.#ownsPool = owned;
    // Leases renew four times per take-over bound, so a live worker's runs are never taken from it.
    this.store = new PostgresRunStore({ pool, schema: this.#schema, leaseMs: this.#takeoverMs });
    this.#slots =
      options.maxSandboxes === undefined
        ? undefined
        : new SandboxSlots(pool, this.#schema, options.maxSandboxes);
  }

  get #takeoverMs(): number {
    return this.#options.takeoverMs ?? 15_000;
  }

  /** Migrates, joins the fleet and starts taking jobs. */
  async start(): Promise<void> {
    await this.store.ready();
    await migrateWorkerSchema(this.#pool, this.#schema);
    this.#fleet = await joinFleet(
      this.#pool,
      this.#schema,
      this.id,
      [...this.#pipelines.keys()],
      this.#takeoverMs,
    );
    this.#utilities = await makeWorkerUtils({ pgPool: this.#pool, logger: quietLogger });
    this.#listener = await this.#pool.connect();
    // A dropped listening connection must not crash the worker; the heartbeat's query still sees cancellations.
    this.#listener.on('error', () => {});
    this.#listener.on('notification', (message) => {
      if (message.channel === CANCEL_CHANNEL && message.payload) this.#running.get(message.payload)?.abort();
    });
    await this.#listener.query(`LISTEN ${CANCEL_CHANNEL}`);
    this.#heartbeat = setInterval(() => void this.#tick(), this.#takeoverMs / 3);
    const taskList: TaskList = {};
    for (const name of this.#pipelines.keys()) {
      taskList[taskName(name)] = (payload, helpers) =>
        this.#runJob((payload as { jobId: string }).jobId, helpers);
    }
    this.#runner = await run({
      pgPool: this.#pool,
      taskList,
      concurrency: this.#options.concurrency ?? 2,
      pollInterval: this.#options.pollIntervalMs ?? 1000,
      noHandleSignals: true,
      logger: quietLogger,
    });
  }

  async #tick(): Promise<void> {
    try {
      if (!(await this.#fleet?.beat())) {
        // Declared dead (a long pause): its jobs are another worker's now, so this one stops them.
        for (const controller of this.#running.values()) controller.abort(new Error('worker declared dead'));
        await this.#fleet?.rejoin();
        return;
      }
      const freed = (await this.#fleet?.sweep((ids) => this.#utilities!.forceUnlockWorkers(ids))) ?? [];
      if (freed.length > 0) this.emit('jobs-taken-over', { jobIds: freed });
      const cancelled = await this.#pool.query<{ id: string }>(
        `SELECT id FROM ${this.#schema}.jobs WHERE worker_id = $1 AND state = 'running' AND cancel_requested`,
        [this.id],
      );
      for (const row of cancelled.rows) this.#running.get(row.id)?.abort();
    } catch {
      // The database is unreachable for a moment: the next tick tries again; the lease outlasts two misses.
    }
  }

  async #runJob(jobId: string, helpers: JobHelpers): Promise<void> {
    const claimed = await this.#pool.query<{
      pipeline: string;
      input: JsonValue | null;
      cancel_requested: boolean;
      attempts: number;
      max_attempts: number;
      busy_retries: number;
    }>(
      `UPDATE ${this.#schema}.jobs SET state = 'running', worker_id = $2, queue_worker_id = $3, attempts = attempts + 1,
         started_at = coalesce(started_at, clock_timestamp()), updated_at = clock_timestamp(),
         takeovers = takeovers + (CASE WHEN state = 'running' THEN 1 ELSE 0 END)
       WHERE id = $1 AND state <> ALL($4) RETURNING pipeline, input, cancel_requested, attempts, max_attempts, busy_retries`,
      [jobId, this.id, helpers.job.locked_by, FINAL_AT_START],
    );
    const job = claimed.rows[0];
    if (!job) return; // finished or cancelled already: graphile-worker just drops the entry
    const pipeline = this.#pipelines.get(job.pipeline) as Pipeline<any, any>;
    const controller = new AbortController();
    this.#running.set(jobId, controller);
    if (job.cancel_requested) controller.abort();
    // The job's sandboxes stop and its slot is given back before its final state is written, so a
    // job seen as finished holds nothing, and the fleet never has more sandboxes alive than the cap.
    const release = async (final: boolean) => {
      this.#running.delete(jobId);
      await this.#closeExecutors(jobId, final);
      await this.#slots?.release(jobId, this.id).catch(() => {});
    };
    let results: ChatResult[];
    try {
      if (this.#slots) await this.#slots.take(jobId, this.id, controller.signal);
      const resumed = (await this.store.loadRun(jobId)) !== undefined;
      this.emit('job-started', { jobId, pipeline: job.pipeline, resumed });
      const outcome = await this.#execute(pipeline, jobId, job.input, resumed, controller.signal);
      if (controller.signal.aborted) throw controller.signal.reason ?? new Error('cancelled');
      if (outcome.cancelled) {
        // Cancelled through the run store (the server's cancel): the job's record says so too.
        await this.#pool.query(`UPDATE ${this.#schema}.jobs SET cancel_requested = true WHERE id = $1`, [
          jobId,
        ]);
        await release(true);
        await this.#finish(jobId, 'cancelled', {});
        return;
      }
      results = outcome.results;
    } catch (error) {
      if (inCauses(error, (cause) => cause instanceof LeaseLostError)) {
        // Declared dead or fenced off (paused past takeoverMs): the job is another worker's now, so
        // this one writes nothing more about it and keeps the sandbox its run recorded for it.
        await release(false);
        throw error; // graphile-worker's fail is a no-op: the entry is locked by the new worker
      }
      const message = error instanceof Error ? error.message : String(error);
      const cancelled = await this.#pool.query<{ cancel_requested: boolean }>(
        `SELECT cancel_requested FROM ${this.#schema}.jobs WHERE id = $1`,
        [jobId],
      );
      if (cancelled.rows[0]?.cancel_requested) {
        await release(true);
        await this.#finish(jobId, 'cancelled', {});
        return;
      }
      if (controller.signal.aborted) {
        await release(false);
        throw error; // declared dead: another worker has the job now
      }
      // A job waiting for its retry gives its slot back, so under a cap it stops its sandboxes too
      // (the retry starts a fresh one and tells the model): a sandbox alive without a slot would let
      // the fleet exceed the cap, and a slot held through the backoff would idle while others queue.
      const underCap = this.#slots !== undefined;
      const busy = busyStatus(error);
      if (busy !== undefined) {
        await release(underCap);
        await this.#backOff(jobId, job, busy, message);
        return;
      }
      if (job.attempts >= job.max_attempts) {
        await release(true);
        await this.#finish(jobId, 'dead', { error: message });
        return; // kept in our table with its error; graphile-worker drops its entry
      }
      await release(underCap);
      await this.#finish(jobId, 'retrying', { error: message });
      throw error; // graphile-worker retries it after its backoff (exp(attempts) seconds)
    }
    await release(true);
    await this.#finish(jobId, 'completed', { result: jobResult(results) });
  }

  /**
   * Closes the executors the job's agents hold (which deletes their sandboxes) once the job is over;
   * sandboxes the run used that no executor here holds (the job was resumed and never reached a
   * block) are stopped through the HopX API. A job that is not over keeps the sandbox its run
   * recorded, for whoever resumes it; one the run never recorded (its first block did not finish)
   * nobody would find again, so it is closed.
   */
  async #closeExecutors(jobId: string, final: boolean): Promise<void> {
    const agents = this.#agents.get(jobId) ?? [];
    this.#agents.delete(jobId);
    const executors = new Set<{ close?(): Promise<void>; sandboxId?: unknown }>();
    const visit = (agent: ConversableAgent): void => {
      const config = agent.codeExecutionConfig;
      if (config) executors.add(config.executor);
      if (agent instanceof GroupChatManager) for (const member of agent.groupchat.agents) visit(member);
    };
    for (const agent of agents) visit(agent);
    let closing = [...executors];
    if (!final) {
      const recorded = new Set(sandboxIdsOf(await this.store.readEntries(jobId, 0).catch(() => [])));
      closing = closing.filter(
        (executor) => typeof executor.sandboxId === 'string' && !recorded.has(executor.sandboxId),
      );
    }
    await Promise.all(closing.map((executor) => executor.close?.().catch(() => {})));
    if (final) await stopRunSandboxes(this.store, jobId, this.#options.sandboxes ?? {});
  }

  /**
   * Starts or resumes the job's run; a dead holder's lease not yet dropped is waited out. `cancelled`
   * when a cancel stored with the run stopped it (then a block it aborted may have thrown).
   */
  async #execute(
    pipeline: Pipeline<any, any>,
    jobId: string,
    input: JsonValue | null,
    resumed: boolean,
    signal: AbortSignal,
  ): Promise<{ results: ChatResult[]; cancelled: boolean }> {
    const deadline = Date.now() + 2 * this.#takeoverMs;
    const options = {
      store: this.store,
      signal,
      ...(this.#options.cancelPollMs === undefined ? {} : { cancelPollMs: this.#options.cancelPollMs }),
    };
    for (let resume = resumed; ; resume = true) {
      // A run whose log ends with the stop that honoured a cancel was cancelled by a worker that died
      // (or failed to reach the database) before it marked the job: resuming it would be a resume on
      // purpose, which runs it again and undoes the cancel.
      if (resume && honouredCancel(await this.store.readEntries(jobId, 0)) !== undefined) {
        return { results: [], cancelled: true };
      }
      let run: DurableRun;
      if (resume) run = await resumePipeline(pipeline, jobId, options);
      else run = await startPipeline(pipeline, input ?? undefined, { ...options, runId: jobId });
      try {
        const results = await run.result;
        return { results, cancelled: run.cancelled };
      } catch (error) {
        // A worker fenced off from the run (its lease lost) writes nothing more about the job, even
        // when the run saw a cancel, and does not wait to resume it: the job is another worker's now.
        const leaseLost = inCauses(error, (cause) => cause instanceof LeaseLostError);
        if (run.cancelled && !leaseLost) return { results: [], cancelled: true };
        if (leaseLost || !(error instanceof RunLockedError) || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  /**
   * Queues the job again after a wait that doubles with each 429 or 503 in a row, without counting
   * the attempt: graphile-worker replaces the entry this worker holds with a new one due later.
   */
  async #backOff(
    jobId: string,
    job: { pipeline: string; attempts: number; max_attempts: number; busy_retries: number },
    status: number,
    message: string,
  ): Promise<void> {
    const delayMs = Math.min(60_000, (this.#options.busyBackoffMs ?? 2_000) * 2 ** job.busy_retries);
    await inTransaction(this.#pool, async (client) => {
      await client.query(
        `UPDATE ${this.#schema}.jobs SET attempts = attempts - 1, busy_retries = busy_retries + 1 WHERE id = $1`,
        [jobId],
      );
      await client.query(
        `SELECT graphile_worker.add_job($1, json_build_object('jobId', $2::text),
           run_at => clock_timestamp() + $3 * interval '1 millisecond', max_attempts => $4, job_key => $2)`,
        [taskName(job.pipeline), jobId, delayMs, job.max_attempts - job.attempts + 1],
      );
    });
    await this.#finish(jobId, 'retrying', {
      error: `The sandbox service answered ${status} (${message}); trying again in ${Math.round(delayMs / 100) / 10} s, not counted as an attempt.`,
    });
  }

  async #finish(
    jobId: string,
    state: JobState,
    fields: { result?: JobResult; error?: string },
  ): Promise<void> {
    await this.#pool.query(
      `UPDATE ${this.#schema}.jobs SET state = $2, result = coalesce($3, result), error = CASE WHEN $2 = 'completed' THEN NULL ELSE coalesce($4, error) END,
         finished_at = CASE WHEN $2 = 'retrying' THEN NULL ELSE clock_timestamp() END, updated_at = clock_timestamp()
       WHERE id = $1`,
      [
        jobId,
        state,
        fields.result === undefined ? null : JSON.stringify(fields.result),
        fields.error ?? null,
      ],
    );
    this.emit('job-ended', { jobId, state, ...(fields.error === undefined ? {} : { error: fields.error }) });
  }

  /**
   * Stops taking jobs and waits for the running ones to finish (graphile-worker's graceful
   * shutdown), then leaves the fleet. A worker stopped by a signal can also just exit: its jobs are
   * taken over after `takeoverMs`.
   */
  async stop(): Promise<void> {
    clearInterval(this.#heartbeat);
    await this.#runner?.stop();
    await this.#fleet?.leave().catch(() => {});
    this.#listener?.release();
    await this.#utilities?.release();
    await this.store.close();
    if (this.#ownsPool) await this.#pool.end();
  }
}

/** Whether `test` holds for the error or one of its causes. */
function inCauses(error: unknown, test: (cause: Error) => boolean): boolean {
  for (
    let current = error, depth = 0;
    current instanceof Error && depth < 10;
    current = current.cause, depth++
  ) {
    if (test(current)) return true;
  }
  return false;
}

/** The HTTP status 429 or 503 somewhere in the error's cause chain (the HopX SDK's `statusCode`), if any. */
function busyStatus(error: unknown): number | undefined {
  let found: number | undefined;
  inCauses(error, (current) => {
    const status =
      (current as { statusCode?: unknown; status?: unknown }).statusCode ??
      (current as { status?: unknown }).status;
    if (status === 429 || status === 503) found = status;
    return found !== undefined;
  });
  return found;
}

function jobResult(results: readonly ChatResult[]): JobResult {
  const chats = results.map((result) => ({
    ...(result.chatId === undefined ? {} : { chatId: result.chatId }),
    summary: result.summary,
    terminationReason: result.terminationReason,
    cost: result.cost.usageIncludingCachedInference.totalCost,
  }));
  return { chats, cost: chats.reduce((total, chat) => total + (chat.cost ?? 0), 0) };
}

/** Starts a worker that runs jobs of `options.pipelines` until {@link PipelineWorker.stop}. */
export async function startWorker(options: WorkerOptions): Promise<PipelineWorker> {
  const worker = new PipelineWorker(options);
  await worker.start();
  return worker;
}
