import { leaseLost, RequestAnswerError, RunLockedError, RunNotFoundError } from './durable-errors.js';
import type { NewRunEntry, RequestAnswer, RunEntry, RunHeader, RunStore, StoredRun } from './run-store.js';

/** A {@link RunStore} in this process's memory: for tests and for runs that need not outlive the process. */
export class InMemoryRunStore implements RunStore {
  readonly #runs = new Map<string, StoredRun>();
  readonly #owners = new Map<string, string>();

  #run(runId: string): StoredRun {
    const run = this.#runs.get(runId);
    if (!run) throw new RunNotFoundError(`No run ${runId} in this store. Check the run id.`);
    return run;
  }

  async createRun(header: RunHeader): Promise<void> {
    if (this.#runs.has(header.runId)) {
      throw new RunLockedError(`Run ${header.runId} already exists. Resume it with resumeRun instead.`);
    }
    this.#runs.set(header.runId, { header: structuredClone(header), entries: [], answers: [] });
  }

  async loadRun(runId: string): Promise<StoredRun | undefined> {
    const run = this.#runs.get(runId);
    return run ? structuredClone(run) : undefined;
  }

  async append(runId: string, entries: readonly NewRunEntry[], owner?: string): Promise<RunEntry[]> {
    const run = this.#run(runId);
    if (owner !== undefined && this.#owners.get(runId) !== owner) throw leaseLost(runId);
    const added = entries.map((entry, index) => ({
      ...structuredClone(entry),
      sequence: run.entries.length + index + 1,
    }));
    run.entries.push(...added);
    return structuredClone(added);
  }

  async readEntries(runId: string, after: number): Promise<RunEntry[]> {
    return structuredClone(this.#run(runId).entries.slice(Math.max(0, after)));
  }

  async addAnswer(runId: string, answer: RequestAnswer): Promise<void> {
    const answers = this.#run(runId).answers;
    if (answers.some((stored) => stored.requestId === answer.requestId)) {
      throw new RequestAnswerError(
        `Request ${answer.requestId} of run ${runId} was answered already; the first answer counts.`,
      );
    }
    answers.push(structuredClone(answer));
  }

  async readAnswers(runId: string): Promise<RequestAnswer[]> {
    return structuredClone(this.#run(runId).answers);
  }

  async acquire(runId: string, owner: string): Promise<void> {
    this.#run(runId);
    const holder = this.#owners.get(runId);
    if (holder !== undefined && holder !== owner) {
      throw new RunLockedError(`Run ${runId} is already running in this process. Wait for it to finish.`);
    }
    this.#owners.set(runId, owner);
  }

  async release(runId: string, owner: string): Promise<void> {
    if (this.#owners.get(runId) === owner) this.#owners.delete(runId);
  }

  async listRuns(): Promise<string[]> {
    return [...this.#runs.keys()];
  }
}
