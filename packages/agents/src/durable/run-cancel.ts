import type { RequestAnswer, RunEntry, RunStore } from './run-store.js';

/**
 * Cancels travel through the store as answers to a reserved request, the way human input does:
 * anyone may add answers, and the process holding the run reads them. The n-th cancel of a run is
 * `run:cancel:<n>`, and the `run-stopped` entry that honours it names it, so a run resumed after a
 * cancel (by code, on purpose) can be cancelled again.
 */
const CANCEL_PREFIX = 'run:cancel:';

/** How often a running run looks for a cancel stored by another process, in milliseconds. */
export const DEFAULT_CANCEL_POLL_MS = 1000;

/** The longest `cancelPollMs`: Node's longest timer, in milliseconds (a longer one fires after 1 ms). */
export const MAX_CANCEL_POLL_MS = 2_147_483_647;

/** The id the next cancel of a run gets: one more than the cancels its log says it honoured. */
export function nextCancelId(entries: readonly RunEntry[]): string {
  const honoured = entries.filter(
    (entry) => entry.type === 'run-stopped' && String(entry.data['cancel'] ?? '').startsWith(CANCEL_PREFIX),
  ).length;
  return `${CANCEL_PREFIX}${honoured + 1}`;
}

/**
 * The cancel the run's log ends by honouring (its last entry is the `run-stopped` naming it): the
 * run is cancelled and nobody resumed it since (a resume on purpose writes `run-resumed` first).
 */
export function honouredCancel(entries: readonly RunEntry[]): string | undefined {
  const last = entries.at(-1);
  const cancel = last?.type === 'run-stopped' ? last.data['cancel'] : undefined;
  return typeof cancel === 'string' && cancel.startsWith(CANCEL_PREFIX) ? cancel : undefined;
}

/** The cancel the run has not honoured yet, if one was requested. */
export function pendingCancel(
  entries: readonly RunEntry[],
  answers: readonly RequestAnswer[],
): string | undefined {
  const next = nextCancelId(entries);
  return answers.some((answer) => answer.requestId === next) ? next : undefined;
}

/**
 * Stores a cancel of a run, from any process: the process holding the run stops it within its
 * `cancelPollMs`, and a run nobody holds (stopped, or failed and waiting for a retry) stops as soon
 * as a process resumes it, before it does anything else. Asking again before the run honours the
 * cancel, or after it has (its log ends with the stop), is the same as asking once: nothing more is
 * stored, so a resume on purpose later is not cancelled by a late second click. A finished run has
 * nothing to stop: nothing is stored. Returns the cancel's request id.
 */
export async function requestCancel(store: RunStore, runId: string): Promise<string> {
  const entries = await store.readEntries(runId, 0);
  const honoured = honouredCancel(entries);
  if (honoured !== undefined) return honoured;
  const requestId = nextCancelId(entries);
  if (entries.some((entry) => entry.type === 'run-finished')) return requestId;
  await storeCancel(store, runId, requestId);
  return requestId;
}

/** Stores the cancel `requestId` unless it is stored already. */
export async function storeCancel(store: RunStore, runId: string, requestId: string): Promise<void> {
  const answers = await store.readAnswers(runId);
  if (answers.some((answer) => answer.requestId === requestId)) return;
  try {
    await store.addAnswer(runId, { requestId, answer: { cancel: true }, answeredAt: Date.now() });
  } catch (error) {
    // Another process stored the same cancel in between: that is this cancel, already asked.
    if (!(await store.readAnswers(runId)).some((answer) => answer.requestId === requestId)) throw error;
  }
}
