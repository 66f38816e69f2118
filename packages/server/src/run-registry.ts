import { randomUUID } from 'node:crypto';
import {
  approve,
  type DurableRun,
  provideInput,
  RequestAnswerError,
  type RunEvent,
  type RunStore,
  readRunEvents,
  reject,
} from '@hopgen/agents';
import type { RunDetail, RunSummary, StartRunRequest } from './api-schemas.js';
import { RequestError } from './errors.js';
import { type Pipeline, startPipelineRun } from './pipeline.js';
import { describeRun, loadStoredRun, type RunOrigin, summarizeRun } from './run-status.js';

/** A run this server started and still runs in its process. */
interface ActiveRun {
  run: DurableRun;
  controller: AbortController;
}

/** The runs of one store: starts pipelines, answers requests and cancels, through the durable-run API. */
export class RunRegistry {
  readonly store: RunStore;
  readonly #pipelines: ReadonlyMap<string, Pipeline>;
  readonly #active = new Map<string, ActiveRun>();
  readonly #origins = new Map<string, RunOrigin>();

  constructor(options: { store: RunStore; pipelines: readonly Pipeline[] }) {
    this.store = options.store;
    this.#pipelines = new Map(options.pipelines.map((pipeline) => [pipeline.name, pipeline]));
  }

  /** The registered pipelines. */
  get pipelines(): Pipeline[] {
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
    let input = request.input;
    if (pipeline.input) {
      const parsed = pipeline.input.safeParse(input);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new RequestError(
          422,
          'input-invalid',
          `The input of pipeline ${pipeline.name} is not valid: ${issue?.path.join('.') || '(input)'}: ${issue?.message}.`,
        );
      }
      input = parsed.data;
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
    const run = await startPipelineRun(pipeline, input, {
      store: this.store,
      runId,
      signal: controller.signal,
      ...(request.approval ? { approval: request.approval } : {}),
    });
    this.#origins.set(runId, { pipeline: pipeline.name, input: input ?? null });
    this.#active.set(runId, { run, controller });
    void run.result.finally(() => this.#active.delete(runId)).catch(() => undefined);
    return this.describe(runId);
  }

  /** Every run of the store, newest first. */
  async list(): Promise<RunSummary[]> {
    const summaries: RunSummary[] = [];
    for (const runId of await this.store.listRuns()) {
      const stored = await this.store.loadRun(runId);
      if (stored) summaries.push(await summarizeRun(this.store, stored, this.#origins.get(runId)));
    }
    return summaries.sort((left, right) => right.createdAt - left.createdAt);
  }

  /** One run, with its open requests. */
  async describe(runId: string): Promise<RunDetail> {
    return describeRun(this.store, await loadStoredRun(this.store, runId), this.#origins.get(runId));
  }

  /**
   * The run's events after `after`, live while it runs: straight from the run when this process
   * runs it, else by polling the store (another process, or a run waiting for a resume).
   */
  async events(runId: string, after: number, signal: AbortSignal): Promise<AsyncIterable<RunEvent>> {
    await loadStoredRun(this.store, runId);
    const active = this.#active.get(runId);
    return active
      ? active.run.events({ after, signal })
      : readRunEvents(this.store, runId, { after, signal });
  }

  /** Answers a human-input request. */
  provideInput(runId: string, requestId: string, text: string): Promise<RunDetail> {
    return this.#answer(runId, (run) =>
      run ? run.provideInput(requestId, text) : provideInput(this.store, runId, requestId, text),
    );
  }

  /** Approves a code block or tool call. */
  approve(runId: string, requestId: string): Promise<RunDetail> {
    return this.#answer(runId, (run) =>
      run ? run.approve(requestId) : approve(this.store, runId, requestId),
    );
  }

  /** Rejects a code block or tool call; the model gets `reason` as the result. */
  reject(runId: string, requestId: string, reason: string): Promise<RunDetail> {
    return this.#answer(runId, (run) =>
      run ? run.reject(requestId, reason) : reject(this.store, runId, requestId, reason),
    );
  }

  /** Stops a run this server runs; it ends with `run-stopped`. */
  async cancel(runId: string): Promise<RunDetail> {
    await loadStoredRun(this.store, runId);
    const active = this.#active.get(runId);
    if (!active) {
      throw new RequestError(
        409,
        'run-not-running',
        `Run ${runId} is not running in this server, so there is nothing to cancel. Its status says where it is (GET /api/runs/${runId}).`,
      );
    }
    active.controller.abort();
    await active.run.result.catch(() => undefined);
    return this.describe(runId);
  }

  async #answer(runId: string, give: (run: DurableRun | undefined) => Promise<void>): Promise<RunDetail> {
    await loadStoredRun(this.store, runId);
    try {
      await give(this.#active.get(runId)?.run);
    } catch (error) {
      if (error instanceof RequestAnswerError) throw new RequestError(409, 'request-not-open', error.message);
      throw error;
    }
    return this.describe(runId);
  }
}
