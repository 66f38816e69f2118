import { RequestAnswerError, RunNotFoundError } from './durable-errors.js';
import type { RunJournal } from './run-journal.js';
import { pendingRequestIds } from './run-snapshot.js';
import type { JsonValue, RunStore } from './run-store.js';

/** A request of a run that waits for an answer. */
export interface PendingRequest {
  /** Pass it to `provideInput`, `approve` or `reject`. */
  requestId: string;
  /** `human-input` or `approval`. */
  kind: 'human-input' | 'approval';
  /** What the request shows: the agent, the prompt or the code and tool call to approve. */
  data: { [key: string]: JsonValue };
}

/** Requests of a run that nobody has answered yet. */
export async function pendingRequests(store: RunStore, runId: string): Promise<PendingRequest[]> {
  const stored = await store.loadRun(runId);
  if (!stored) throw new RunNotFoundError(`No run ${runId} in the store. Check the run id.`);
  const pending = new Set(pendingRequestIds(stored.entries, stored.answers));
  return stored.entries
    .filter((entry) => pending.has(entry.key))
    .map((entry) => ({
      requestId: entry.key,
      kind: entry.type === 'approval-requested' ? 'approval' : 'human-input',
      data: entry.data,
    }));
}

/**
 * Stores an answer to a pending request; the run (in this process or another, now or after a
 * restart) takes it. The first answer wins; answering an answered or unknown request throws.
 */
export async function answerRequest(
  store: RunStore,
  runId: string,
  requestId: string,
  answer: { [key: string]: JsonValue },
  journal?: RunJournal,
): Promise<void> {
  const pending = (await pendingRequests(store, runId)).find((request) => request.requestId === requestId);
  if (!pending) {
    throw new RequestAnswerError(
      `Run ${runId} has no pending request ${requestId}: it was answered already or never made. List open ones with pendingRequests(store, runId).`,
    );
  }
  const wantsText = pending.kind === 'human-input';
  if (wantsText !== 'text' in answer) {
    throw new RequestAnswerError(
      wantsText
        ? `Request ${requestId} asks for human input: answer it with provideInput, not approve or reject.`
        : `Request ${requestId} asks for an approval: answer it with approve or reject, not provideInput.`,
    );
  }
  const stored = { requestId, answer, answeredAt: Date.now() };
  await store.addAnswer(runId, stored);
  journal?.notifyAnswer(stored);
}

/** Answers a human-input request of a stored run, from any process. */
export function provideInput(store: RunStore, runId: string, requestId: string, text: string): Promise<void> {
  return answerRequest(store, runId, requestId, { text });
}

/** Approves a pending code block or tool call of a stored run, from any process. */
export function approve(store: RunStore, runId: string, requestId: string): Promise<void> {
  return answerRequest(store, runId, requestId, { approved: true });
}

/** Rejects a pending code block or tool call of a stored run; the model receives `reason` as the result. */
export function reject(store: RunStore, runId: string, requestId: string, reason: string): Promise<void> {
  return answerRequest(store, runId, requestId, { approved: false, reason });
}
