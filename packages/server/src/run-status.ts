import { pendingRequests, RunNotFoundError, type RunStore, type StoredRun } from '@hopgen/agents';
import { pendingCancel } from '@hopgen/agents/internal';
import type { RunDetail, RunStatus, RunSummary } from './api-schemas.js';
import { RequestError } from './errors.js';

/** Where a stored run is, read from its log: an ending entry last, an open request, or neither. */
export function statusOf(stored: StoredRun, pendingCount: number): RunStatus {
  return statusFromLog(
    {
      finished: stored.entries.some((entry) => entry.type === 'run-finished'),
      lastType: stored.entries.at(-1)?.type,
    },
    pendingCount,
  );
}

/** The status of a run whose log has (or not) a `run-finished` entry and ends with an entry of `lastType`. */
export function statusFromLog(
  log: { finished: boolean; lastType: string | undefined },
  pendingCount: number,
): RunStatus {
  if (log.finished) return 'finished';
  // A stop or failure followed by more entries was resumed since.
  if (log.lastType === 'run-failed') return 'failed';
  if (log.lastType === 'run-stopped') return 'stopped';
  return pendingCount > 0 ? 'waiting' : 'running';
}

/** Loads a run or answers 404. */
export async function loadStoredRun(store: RunStore, runId: string): Promise<StoredRun> {
  const stored = await store.loadRun(runId);
  if (!stored) {
    throw new RequestError(404, 'run-not-found', `No run ${runId}. List runs with GET /api/runs.`);
  }
  return stored;
}

/**
 * Answers 404 unless the run exists, reading its entries after the last possible one (every store
 * refuses the entries of a missing run), never its whole log: a reader that reconnects near the end
 * of a long run must not cost the whole log. Not its answers: a store that fails to read those (a
 * corrupt answer file) must say so, not hide behind "No run", and one that answers [] for a missing
 * run would stream forever.
 */
export async function checkRunExists(store: RunStore, runId: string): Promise<void> {
  try {
    await store.readEntries(runId, Number.MAX_SAFE_INTEGER);
  } catch (error) {
    if (!(error instanceof RunNotFoundError)) throw error;
    throw new RequestError(404, 'run-not-found', `No run ${runId}. List runs with GET /api/runs.`);
  }
}

/** Whether a status is an end: nothing answers a request of such a run unless code resumes it. */
export function isEnded(status: RunStatus): boolean {
  return status === 'finished' || status === 'failed' || status === 'stopped';
}

/**
 * The requests a person can answer: none once the run has ended (a cancelled run keeps its
 * unanswered request in the log, but nothing would read an answer to it).
 */
async function openRequests(store: RunStore, stored: StoredRun) {
  const requests = await pendingRequests(store, stored.header.runId);
  const status = statusOf(stored, requests.length);
  return { status, requests: isEnded(status) ? [] : requests };
}

/**
 * Whether a cancel was asked that the run has not honoured: it is still running somewhere, or waits
 * for a resume (stopped, or failed and waiting for a worker's retry), and stops at its next look at
 * the store. A finished run ignores it.
 */
export function cancelRequested(status: RunStatus, pendingCancelId: string | undefined): boolean {
  return pendingCancelId !== undefined && status !== 'finished';
}

/** A run's summary, as `GET /api/runs` lists it. */
async function summarizeRun(store: RunStore, stored: StoredRun): Promise<RunSummary> {
  const { status, requests } = await openRequests(store, stored);
  const last = stored.entries.at(-1);
  return {
    runId: stored.header.runId,
    pipeline: stored.header.pipeline?.name ?? null,
    createdAt: stored.header.createdAt,
    updatedAt: last?.time ?? stored.header.createdAt,
    status,
    lastSequence: last?.sequence ?? 0,
    pendingRequests: requests.length,
    cancelRequested: cancelRequested(status, pendingCancel(stored.entries, stored.answers)),
  };
}

/** A run with its open requests, results and error. */
export async function describeRun(store: RunStore, stored: StoredRun): Promise<RunDetail> {
  const { requests } = await openRequests(store, stored);
  const finished = stored.entries.find((entry) => entry.type === 'run-finished');
  const failed = stored.entries.findLast((entry) => entry.type === 'run-failed');
  const summary = await summarizeRun(store, stored);
  return {
    ...summary,
    input: stored.header.pipeline?.input ?? null,
    requests,
    results: finished ? (finished.data['results'] as RunDetail['results']) : null,
    error: summary.status === 'failed' ? String(failed?.data['error'] ?? 'unknown error') : null,
  };
}
