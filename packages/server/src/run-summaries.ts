import type { RunEntry, RunStore } from '@hopgen/agents';
import { pendingCancel } from '@hopgen/agents/internal';
import type { RunSummary } from './api-schemas.js';
import { cancelRequested, isEnded, statusFromLog } from './run-status.js';

/** What a run's summary needs from its log, kept between lists and brought up to date from where it was. */
interface KnownRun {
  pipeline: string | null;
  createdAt: number;
  lastSequence: number;
  updatedAt: number;
  lastType: string | undefined;
  finished: boolean;
  /** Keys of `*-requested` entries, in order. */
  requested: string[];
  /** Keys decided in the log (a `<key>.end` entry). */
  decided: Set<string>;
  /** The `run-stopped` entries, which say which cancels the run honoured. */
  stops: RunEntry[];
}

/**
 * Summaries of every run of a store for `GET /api/runs`, which the page asks for every few seconds:
 * a run is read whole once, then only the entries appended since the last list (and its answers),
 * so a list costs what changed rather than every log again.
 */
export class RunSummaries {
  readonly #store: RunStore;
  readonly #known = new Map<string, KnownRun>();

  constructor(store: RunStore) {
    this.#store = store;
  }

  /** Every run of the store, newest first. */
  async list(): Promise<RunSummary[]> {
    const summaries: RunSummary[] = [];
    for (const runId of await this.#store.listRuns()) {
      const summary = await this.#summarize(runId);
      if (summary) summaries.push(summary);
    }
    return summaries.sort((left, right) => right.createdAt - left.createdAt);
  }

  async #summarize(runId: string): Promise<RunSummary | undefined> {
    let known = this.#known.get(runId);
    if (!known) {
      const stored = await this.#store.loadRun(runId);
      if (!stored) return undefined;
      known = {
        pipeline: stored.header.pipeline?.name ?? null,
        createdAt: stored.header.createdAt,
        lastSequence: 0,
        updatedAt: stored.header.createdAt,
        lastType: undefined,
        finished: false,
        requested: [],
        decided: new Set(),
        stops: [],
      };
      take(known, stored.entries);
      this.#known.set(runId, known);
    } else {
      take(known, await this.#store.readEntries(runId, known.lastSequence));
    }
    const answers = await this.#store.readAnswers(runId);
    const answered = new Set(answers.map((answer) => answer.requestId));
    const pending = known.requested.filter((key) => !known.decided.has(key) && !answered.has(key)).length;
    const status = statusFromLog(known, pending);
    return {
      runId,
      pipeline: known.pipeline,
      createdAt: known.createdAt,
      updatedAt: known.updatedAt,
      status,
      lastSequence: known.lastSequence,
      pendingRequests: isEnded(status) ? 0 : pending,
      cancelRequested: cancelRequested(status, pendingCancel(known.stops, answers)),
    };
  }
}

function take(known: KnownRun, entries: readonly RunEntry[]): void {
  for (const entry of entries) {
    if (entry.sequence <= known.lastSequence) continue;
    known.lastSequence = entry.sequence;
    known.updatedAt = entry.time;
    known.lastType = entry.type;
    if (entry.type === 'run-finished') known.finished = true;
    if (entry.type.endsWith('-requested')) known.requested.push(entry.key);
    if (entry.key.endsWith('.end')) known.decided.add(entry.key.slice(0, -4));
    if (entry.type === 'run-stopped') known.stops.push(entry);
  }
}
