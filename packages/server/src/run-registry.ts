import { randomUUID } from 'node:crypto';
import {
  approve,
  type DurableRun,
  type Pipeline,
  PipelineError,
  pendingRequests,
  provideInput,
  RequestAnswerError,
  type RunEvent,
  type RunStore,
  readRunEvents,
  reject,
  requestCancel,
  resumePipeline,
  startPipeline,
} from '@hopgen/agents';
import type { RunDetail, RunSummary, StartRunRequest } from './api-schemas.js';
import { RequestError } from './errors.js';
import { checkRunExists, describeRun, isEnded, loadStoredRun, statusOf } from './run-status.js';
import { RunSummaries } from './run-summaries.js';

/** A run this server started and still runs in its process. */
interface ActiveRun {
  run: DurableRun;
  controller: AbortController;
}

/** The runs of one store: starts pipelines, answers requests and cancels, through the durable-run API. */
export class RunRegistry {
  readonly store: RunStore;
  readonly #pipelines: ReadonlyMap<string, Pipeline<any, any>>;
  readonly #active = new Map<string, ActiveRun>();
  readonly #summaries: RunSummaries;
  /** Passed to every run this registry starts or resumes. */
  readonly #runOptions: { cancelPollMs?: number };

  constructor(options: { store: RunStore; pipelines: readonly Pipeline<any, any>[]; cancelPollMs?: number }) {
    this.store = options.store;
    this.#runOptions = options.cancelPollMs === undefined ? {} : { cancelPollMs: options.cancelPollMs };
    this.#summaries = new RunSummaries(options.store);
    this.#pipelines = new Map(options.pipelines.map((pipeline) => [pipeline.name, pipeline]));
  }

  /** The registered pipelines. */
  get pipelines(): Pipeline<any, any>[] {
    return [...this.#pipelines.values()];
  }

  /** Starts a run of a registered pipeline after checking its input. */
  async start(request: StartRunRequest): Promise<RunDetail> {
    const pipeline = this.#pipelines.get(request.pipeline);
    if (!pipeline) {
      throw new RequestError(
        404,
        'pipeline-not-found',
        `No pipeline ${request.pipeline}. Registered: ${[...this.#pipelines.keys()].join(', ') || 'none'} (GET /api/pipelines).`,
      );
    }
    const runId = request.runId ?? randomUUID();
    if (await this.store.loadRun(runId)) {
      throw new RequestError(
        409,
        'run-exists',
        `Run ${runId} exists already. Pick another runId or leave it out.`,
      );
    }
    const controller = new AbortController();
    let run: DurableRun;
    try {
      run = await startPipeline(pipeline, request.input, {
        store: this.store,
        runId,
        signal: controller.signal,
        ...this.#runOptions,
        ...(request.approval ? { approval: request.approval } : {}),
      });
    } catch (error) {
      if (error instanceof PipelineError) throw new RequestError(422, 'input-invalid', error.message);
      throw error;
    }
    this.#track(runId, run, controller);
    return this.describe(runId);
  }

  /** Every run of the store, newest first. */
  list(): Promise<RunSummary[]> {
    return this.#summaries.list();
  }

  /** One run, with its open requests. */
  async describe(runId: string): Promise<RunDetail> {
    return describeRun(this.store, await loadStoredRun(this.store, runId));
  }

  /**
   * The run's events after `after`, live while it runs: straight from the run when this process
   * runs it, else by polling the store (another process, or a run waiting for a resume).
   */
  async events(runId: string, after: number, signal: AbortSignal): Promise<AsyncIterable<RunEvent>> {
    const active = this.#active.get(runId);
    if (active) return active.run.events({ after, signal });
    await checkRunExists(this.store, runId);
    return readRunEvents(this.store, runId, { after, signal });
  }

  /** Answers a human-input request. */
  provideInput(runId: string, requestId: string, text: string): Promise<RunDetail> {
    return this.#answer(runId, requestId, (run) =>
      run ? run.provideInput(requestId, text) : provideInput(this.store, runId, requestId, text),
    );
  }

  /** Approves a code block or tool call. */
  approve(runId: string, requestId: string): Promise<RunDetail> {
    return this.#answer(runId, requestId, (run) =>
      run ? run.approve(requestId) : approve(this.store, runId, requestId),
    );
  }

  /** Rejects a code block or tool call; the model gets `reason` as the result. */
  reject(runId: string, requestId: string, reason: string): Promise<RunDetail> {
    return this.#answer(runId, requestId, (run) =>
      run ? run.reject(requestId, reason) : reject(this.store, runId, requestId, reason),
    );
  }

  /**
   * Cancels a run wherever it runs. One this server runs stops at once and the answer shows it
   * stopped. One another process holds (a worker, another server on the same store) gets a stored
   * cancel, and the answer comes at once with `cancelRequested`: that process stops it within its
   * `cancelPollMs` (1 s by default). A run nobody holds (stopped by a shutdown, or failed and waiting
   * for a worker's retry) stops when a process resumes it, before it does anything else. Cancelling
   * again is the same as once (`requestCancel` decides, from the log it reads); a finished run is a 409.
   */
  async cancel(runId: string): Promise<RunDetail> {
    const stored = await loadStoredRun(this.store, runId);
    const active = this.#active.get(runId);
    if (active) {
      await active.run.cancel();
      return this.describe(runId);
    }
    if (statusOf(stored, 0) === 'finished') {
      throw new RequestError(
        409,
        'run-ended',
        `Run ${runId} has finished, so there is nothing to cancel. Start a new run (POST /api/runs).`,
      );
    }
    await requestCancel(this.store, runId);
    return this.describe(runId);
  }

  /**
   * Resumes the stored runs of registered pipelines that no process runs: those a stopped or killed
   * server left running or waiting for a person. A run another live process holds fails to take
   * its lease (`RunLockedError`) and stays that process's. Returns the ids tried.
   */
  async resumeInterrupted(): Promise<string[]> {
    const resumed: string[] = [];
    for (const runId of await this.store.listRuns()) {
      if (this.#active.has(runId)) continue;
      const stored = await this.store.loadRun(runId);
      const pipeline = stored?.header.pipeline && this.#pipelines.get(stored.header.pipeline.name);
      if (!stored || !pipeline) continue;
      const status = statusOf(stored, 0);
      if (status !== 'running' && status !== 'waiting') continue;
      const controller = new AbortController();
      const run = await resumePipeline(pipeline, runId, {
        store: this.store,
        signal: controller.signal,
        ...this.#runOptions,
      });
      this.#track(runId, run, controller);
      resumed.push(runId);
    }
    return resumed;
  }

  #track(runId: string, run: DurableRun, controller: AbortController): void {
    this.#active.set(runId, { run, controller });
    void run.result
      .catch(() => undefined)
      .finally(() => {
        if (this.#active.get(runId)?.run === run) this.#active.delete(runId);
      });
  }

  async #answer(
    runId: string,
    requestId: string,
    give: (run: DurableRun | undefined) => Promise<void>,
  ): Promise<RunDetail> {
    const stored = await loadStoredRun(this.store, runId);
    const active = this.#active.get(runId)?.run;
    const status = statusOf(stored, 0);
    // An answer to an ended run's open request would be stored and never read: the person would wait
    // for nothing. (A request answered already is refused below as request-not-open.)
    const unanswered = async () =>
      (await pendingRequests(this.store, runId)).some((request) => request.requestId === requestId);
    if (!active && isEnded(status) && (await unanswered())) {
      throw new RequestError(
        409,
        'run-ended',
        `Run ${runId} is ${status}: nothing will read an answer to its requests. Start a new run (POST /api/runs).`,
      );
    }
    try {
      await give(active);
    } catch (error) {
      if (error instanceof RequestAnswerError) throw new RequestError(409, 'request-not-open', error.message);
      throw error;
    }
    return this.describe(runId);
  }
}
