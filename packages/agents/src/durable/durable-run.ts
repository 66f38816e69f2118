import { randomUUID } from 'node:crypto';
import type { ChatQueueItem } from '../chats/chat-queue.js';
import type { ChatResult } from '../chats/chat-result.js';
import { ChatRun } from '../chats/chat-run.js';
import type { InitiateChatOptions } from '../chats/initiate-chat.js';
import { initiateChats } from '../chats/initiate-chats.js';
import type { ConversableAgent } from '../conversable-agent.js';
import { InvalidOptionError } from '../errors.js';
import { GroupChatManager } from '../group-chat/group-chat-manager.js';
import { LeaseLostError, RunNotFoundError } from './durable-errors.js';
import { FileRunStore } from './file-run-store.js';
import { InMemoryRunStore } from './in-memory-run-store.js';
import {
  DEFAULT_CANCEL_POLL_MS,
  honouredCancel,
  MAX_CANCEL_POLL_MS,
  nextCancelId,
  storeCancel,
} from './run-cancel.js';
import {
  bindAgents,
  parseRunDefinition,
  type RunDefinition,
  storableChatOptions,
  storableQueue,
} from './run-definition.js';
import { followEvents, type RunEvent } from './run-events.js';
import { parseRunHeader, RUN_HEADER_VERSION } from './run-header.js';
import { type ApprovalPolicy, RunJournal } from './run-journal.js';
import { answerRequest, type PendingRequest, pendingRequests } from './run-requests.js';
import { parseRunSnapshot, RUN_SNAPSHOT_VERSION, type RunSnapshot, statusOf } from './run-snapshot.js';
import type { JsonValue, RunHeader, RunStore, StoredRun } from './run-store.js';

/**
 * The end listeners of each run's open event streams, for `endListenerCount` in `/internal` (tests
 * check that a closed stream leaves none behind).
 */
const endListenerSets = new WeakMap<DurableRun, ReadonlySet<() => void>>();

/** How many event streams of `run` still wait for its end. */
export function endListenerCount(run: DurableRun): number {
  return endListenerSets.get(run)?.size ?? 0;
}

/** Options of {@link startChat} and {@link startChats}. */
export interface DurableRunOptions {
  /** Where the run's log goes. @default a `FileRunStore` in `.hopgen/runs` */
  store?: RunStore;
  /** The run's id. @default a random UUID */
  runId?: string;
  /** Side effects that wait for a person's approval (stored, so they survive a restart). @default none */
  approval?: ApprovalPolicy;
  /** Human-input requests: answer with `defaultAnswer` after `timeoutMs` milliseconds. @default wait forever */
  humanInput?: { timeoutMs?: number; defaultAnswer?: string };
  /**
   * Stops the run in this process (a shutdown, a deploy): nothing more is written, the run is not
   * marked finished, and `resumeRun` continues it later. @default none
   */
  signal?: AbortSignal;
  /**
   * How often the run looks in its store for a cancel asked by another process (`requestCancel`,
   * `POST /api/runs/{runId}/cancel` on another machine), in milliseconds: such a cancel stops the
   * run within about this long, plus the time the step it is in takes to abort. One read of the
   * run's answers per interval, per running run. @default 1000
   */
  cancelPollMs?: number;
}

/** Options of {@link resumeRun}. */
export interface ResumeRunOptions {
  /** The agents of the run, found by name (the flow's senders and recipients). */
  agents: readonly ConversableAgent[];
  /** The store to resume from, or to load a snapshot into. @default a `FileRunStore` for a run id, an `InMemoryRunStore` for a snapshot */
  store?: RunStore;
  /** Stops the run cleanly between turns. @default none */
  signal?: AbortSignal;
  /** How often the run looks for a cancel asked by another process, in milliseconds (see `DurableRunOptions.cancelPollMs`). @default 1000 */
  cancelPollMs?: number;
}

/**
 * A conversation that is stored as it goes: every message and every side effect is written to a
 * {@link RunStore} with a stable step id, so the run can be resumed after a crash or a deploy
 * (by {@link resumeRun}, in any process), watched ({@link DurableRun.events}), answered from
 * outside ({@link DurableRun.provideInput}, {@link DurableRun.approve}, {@link DurableRun.reject})
 * and cancelled from anywhere ({@link DurableRun.cancel} here, `requestCancel` from any process).
 */
export class DurableRun {
  /** The run's id. */
  readonly id: string;
  /** Where the run is stored. */
  readonly store: RunStore;
  /** The results, one per chat of the flow, when the flow ends. */
  readonly result: Promise<ChatResult[]>;
  readonly #journal: RunJournal;
  readonly #root: ChatRun;
  readonly #createdAt: number;
  readonly #definition: RunDefinition;
  readonly #pipeline: RunHeader['pipeline'];
  readonly #cancel: AbortController;
  readonly #cancelId: string;
  readonly #endListeners = new Set<() => void>();
  #done = false;
  /** Set once the run has decided how it ends: a cancel after that changes nothing. */
  #ended = false;
  #cancelled = false;

  /** Use {@link startChat}, {@link startChats} or {@link resumeRun}. */
  constructor(options: {
    id: string;
    store: RunStore;
    journal: RunJournal;
    root: ChatRun;
    createdAt: number;
    definition: RunDefinition;
    /** The pipeline that built the run and its input, as stored in the header. */
    pipeline?: RunHeader['pipeline'];
    execute: (root: ChatRun) => Promise<ChatResult[]>;
    /** The agents bound to the run, whose executors are re-attached to the run's sandbox at its end. */
    agents: readonly ConversableAgent[];
    /** Aborts `root`: a cancel, here or stored by another process. */
    cancel: AbortController;
    /** The request id a cancel of this run is stored under (see `nextCancelId`). */
    cancelId: string;
    /** How often to look for a stored cancel, in milliseconds. */
    cancelPollMs: number;
    /**
     * The log ends with a `run-stopped` that honoured a cancel: this resume, on purpose, writes
     * `run-resumed` first, so `requestCancel` sees the run going again and stores a new cancel.
     */
    resumedAfterCancel?: boolean;
  }) {
    this.id = options.id;
    this.store = options.store;
    this.#journal = options.journal;
    this.#root = options.root;
    this.#createdAt = options.createdAt;
    this.#definition = options.definition;
    this.#pipeline = options.pipeline;
    this.#cancel = options.cancel;
    this.#cancelId = options.cancelId;
    endListenerSets.set(this, this.#endListeners);
    options.journal.onAnswer = (answer) => {
      if (answer.requestId === this.#cancelId) this.#stopForCancel();
    };
    const owner = randomUUID();
    const { id, store, journal, root } = options;
    this.result = (async () => {
      await store.acquire(id, owner);
      journal.leaseOwner = owner;
      const stopWatching = this.#watchForCancel(options.cancelPollMs);
      try {
        if (options.resumedAfterCancel) await journal.record(`run:resumed:${owner}`, 'run-resumed', {});
        // A cancel stored while no process held the run stops it before it does anything else.
        await this.#lookForCancel();
        let results: ChatResult[] = [];
        try {
          if (!root.aborted) results = await options.execute(root);
        } catch (error) {
          const stopped = this.#end();
          await recordEnd(journal, owner, stopped, error, this.#stopReason());
          throw error;
        }
        // A stopped run is not finished: its log ends where it stopped and resumeRun goes on from there.
        if (this.#end()) {
          await recordEnd(journal, owner, true, undefined, this.#stopReason());
          return results;
        }
        await reattachExecutors(journal, options.agents);
        await journal.record('run:finished', 'run-finished', {
          results: results.map((result) => ({
            summary: result.summary,
            terminationReason: result.terminationReason,
            ...(result.chatId === undefined ? {} : { chatId: result.chatId }),
          })),
        });
        return results;
      } finally {
        stopWatching();
        this.#done = true;
        await store.release(id, owner);
      }
    })().finally(() => {
      this.#done = true;
      // Each stream watching the run removes its listener when it closes; those still open end now.
      for (const listener of [...this.#endListeners]) listener();
      this.#endListeners.clear();
    });
    // A caller that only watches events must not get an unhandled rejection; `result` still rejects.
    this.result.catch(() => {});
  }

  /** Whether a cancel (this process's {@link DurableRun.cancel} or one stored by another process) stopped the run. */
  get cancelled(): boolean {
    return this.#cancelled;
  }

  /**
   * Cancels the run: stops it here at once and stores the cancel (so a resume elsewhere does not run
   * it further); resolves when it has stopped (`run-stopped`, its lease released). The stop does not
   * wait for the store: when storing the cancel fails, the run still stops and this rejects after.
   */
  async cancel(): Promise<void> {
    let storeFailure: { error: unknown } | undefined;
    if (!this.#done) {
      this.#stopForCancel();
      try {
        await storeCancel(this.store, this.id, this.#cancelId);
      } catch (error) {
        storeFailure = { error };
      }
    }
    await this.result.catch(() => undefined);
    if (storeFailure) throw storeFailure.error;
  }

  /**
   * Decides, once, how the run ends: stopped (by a cancel or the caller's signal) or not. A cancel
   * seen after this (a poll read in flight, a late `cancel()`) does not make a finished run cancelled.
   */
  #end(): boolean {
    this.#ended = true;
    this.#cancelled = this.#root.aborted && this.#cancel.signal.aborted;
    return this.#root.aborted;
  }

  /** Polls the store for a cancel every `intervalMs` (one timer per run); returns the function that stops it. */
  #watchForCancel(intervalMs: number): () => void {
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const schedule = () => {
      timer = setTimeout(async () => {
        if (stopped) return;
        await this.#lookForCancel(true);
        if (!stopped && !this.#root.aborted) schedule();
      }, intervalMs);
      // The run's own work keeps the process alive; this poll alone must not.
      timer.unref();
    };
    schedule();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  /** Reads the run's answers for its cancel; a poll skips the read while the journal reads them. */
  async #lookForCancel(polling = false): Promise<void> {
    if (this.#journal.hasAnswer(this.#cancelId)) {
      this.#stopForCancel();
      return;
    }
    // While the run waits for a person, its journal reads the answers every 50 ms and hands a
    // cancel to `onAnswer`: reading them here too would double the load on the store.
    if (polling && this.#journal.readingAnswers) return;
    try {
      const answers = await this.store.readAnswers(this.id);
      if (answers.some((answer) => answer.requestId === this.#cancelId)) this.#stopForCancel();
    } catch {
      // The store is unreachable for a moment: the next poll looks again.
    }
  }

  #stopForCancel(): void {
    if (this.#ended || this.#root.aborted) return;
    this.#cancel.abort(new Error(`Run ${this.id} was cancelled.`));
  }

  /** What the `run-stopped` entry says stopped the run: the cancel it honours, if a cancel did. */
  #stopReason(): { [key: string]: JsonValue } {
    return this.#cancelled ? { cancel: this.#cancelId } : {};
  }

  /** The run as plain JSON with a schema version; `resumeRun(snapshot, { agents })` continues it. */
  async snapshot(): Promise<RunSnapshot> {
    const stored = await this.store.loadRun(this.id);
    if (!stored) throw new RunNotFoundError(`Run ${this.id} is no longer in its store.`);
    return {
      schemaVersion: RUN_SNAPSHOT_VERSION,
      runId: this.id,
      createdAt: this.#createdAt,
      status: statusOf(stored.entries, stored.answers),
      definition: this.#definition,
      ...(this.#pipeline ? { pipeline: this.#pipeline } : {}),
      entries: stored.entries,
      answers: stored.answers,
      state: this.#root.toJSON(),
    };
  }

  /**
   * The run's events from sequence number `after` on: first those in the store, then live ones as
   * they happen, each once and in order; ends when the run ends. A reader that reconnects with the
   * last sequence it saw misses nothing and sees nothing twice.
   */
  events(options: { after?: number; signal?: AbortSignal } = {}): AsyncIterable<RunEvent> {
    return followEvents({
      store: this.store,
      runId: this.id,
      after: options.after ?? 0,
      subscribe: (listener) => this.#journal.subscribe(listener),
      isDone: () => this.#done,
      subscribeEnd: (listener) => {
        this.#endListeners.add(listener);
        return () => this.#endListeners.delete(listener);
      },
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /** Requests (human input, approvals) that wait for an answer. */
  pendingRequests(): Promise<PendingRequest[]> {
    return pendingRequests(this.store, this.id);
  }

  /** Answers a human-input request of this run. */
  provideInput(requestId: string, text: string): Promise<void> {
    return answerRequest(this.store, this.id, requestId, { text }, this.#journal);
  }

  /** Lets the side effect of an approval request run. */
  approve(requestId: string): Promise<void> {
    return answerRequest(this.store, this.id, requestId, { approved: true }, this.#journal);
  }

  /** Refuses the side effect of an approval request; the model receives `reason` as its result. */
  reject(requestId: string, reason: string): Promise<void> {
    return answerRequest(this.store, this.id, requestId, { approved: false, reason }, this.#journal);
  }
}

function definitionOf(flow: RunDefinition['flow'], options: DurableRunOptions): RunDefinition {
  return {
    flow,
    approval: { ...options.approval },
    humanInput: { ...options.humanInput },
  };
}

function journalFor(
  runId: string,
  store: RunStore,
  definition: RunDefinition,
  stored?: Pick<RunSnapshot, 'entries' | 'answers'>,
): RunJournal {
  const { timeoutMs, defaultAnswer } = definition.humanInput;
  return new RunJournal({
    runId,
    store,
    approval: definition.approval,
    humanInput: {
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(defaultAnswer === undefined ? {} : { defaultAnswer: { text: defaultAnswer } }),
    },
    ...(stored ? { entries: stored.entries, answers: stored.answers } : {}),
  });
}

function executor(
  definition: RunDefinition,
  agents: Map<string, ConversableAgent>,
): (root: ChatRun) => Promise<ChatResult[]> {
  const flow = definition.flow;
  const agent = (name: string) => agents.get(name)!;
  if (flow.kind === 'chat') {
    return async (root) => [
      await agent(flow.sender).initiateChat(agent(flow.recipient), {
        ...(flow.options as InitiateChatOptions),
        run: root,
      }),
    ];
  }
  return (root) =>
    initiateChats(
      flow.queue.map((item) => ({
        ...(item as InitiateChatOptions),
        sender: agent(item.sender),
        recipient: agent(item.recipient),
        ...(item.chatId === undefined ? {} : { chatId: item.chatId }),
        ...(item.prerequisites ? { prerequisites: item.prerequisites } : {}),
        ...(item.finishedChatIndexesToExcludeFromCarryover
          ? { finishedChatIndexesToExcludeFromCarryover: item.finishedChatIndexesToExcludeFromCarryover }
          : {}),
        parentRun: root,
      })),
    );
}

/** Writes a new run's header and starts it; `startPipeline` passes the pipeline and its input. */
export async function start(
  flow: RunDefinition['flow'],
  agents: readonly ConversableAgent[],
  options: DurableRunOptions,
  pipeline?: RunHeader['pipeline'],
): Promise<DurableRun> {
  // Checked before anything is stored: a bad option must not leave a run behind.
  const cancelPollMs = cancelPollMsOf(options);
  const store = options.store ?? new FileRunStore();
  const id = options.runId ?? randomUUID();
  const definition = definitionOf(flow, options);
  const createdAt = Date.now();
  await store.createRun({
    schemaVersion: RUN_HEADER_VERSION,
    runId: id,
    createdAt,
    definition: definition as unknown as { [key: string]: JsonValue },
    ...(pipeline ? { pipeline } : {}),
  });
  const journal = journalFor(id, store, definition);
  const { root, cancel } = cancellableRoot(id, journal, options.signal);
  return new DurableRun({
    id,
    store,
    journal,
    root,
    createdAt,
    definition,
    ...(pipeline ? { pipeline } : {}),
    execute: executor(definition, bindAgents(flow, agents)),
    agents,
    cancel,
    cancelId: nextCancelId([]),
    cancelPollMs,
  });
}

/** Starts a durable two-agent chat (a group chat when `recipient` is a `GroupChatManager`). */
export async function startChat(
  sender: ConversableAgent,
  recipient: ConversableAgent,
  options: InitiateChatOptions & DurableRunOptions,
): Promise<DurableRun> {
  const flow: RunDefinition['flow'] = {
    kind: 'chat',
    sender: sender.name,
    recipient: recipient.name,
    options: storableChatOptions(options, 'startChat'),
  };
  return start(flow, [sender, recipient], options);
}

/** Starts a durable `initiateChats` queue (in order, or as a dependency graph with `prerequisites`). */
export async function startChats(
  queue: readonly ChatQueueItem[],
  options: DurableRunOptions = {},
): Promise<DurableRun> {
  const agents = queue.flatMap((item) => (item.sender ? [item.sender, item.recipient] : [item.recipient]));
  return start(storableQueue(queue), agents, options);
}

/**
 * Continues a stored run, from its id (in `options.store`) or from a snapshot. The flow runs again
 * from the start with the given agents, answered from the log: finished side effects are not
 * repeated, and the run goes on live from where it stopped.
 */
export async function resumeRun(
  from: string | RunSnapshot | unknown,
  options: ResumeRunOptions,
): Promise<DurableRun> {
  // Checked before a snapshot is imported into the store: a bad option must not leave a run behind.
  cancelPollMsOf(options);
  let store = options.store;
  let runId: string;
  if (typeof from === 'string') {
    store ??= new FileRunStore();
    runId = from;
  } else {
    const snapshot = parseRunSnapshot(from);
    runId = snapshot.runId;
    store ??= new InMemoryRunStore();
    if (!(await store.loadRun(runId))) {
      await store.createRun({
        schemaVersion: RUN_HEADER_VERSION,
        runId,
        createdAt: snapshot.createdAt,
        definition: snapshot.definition as unknown as { [key: string]: JsonValue },
        ...(snapshot.pipeline ? { pipeline: snapshot.pipeline } : {}),
      });
      await store.append(
        runId,
        snapshot.entries.map(({ sequence: _sequence, ...entry }) => entry),
      );
      for (const answer of snapshot.answers) await store.addAnswer(runId, answer);
    }
  }
  return continueRun(await loadStoredRun(store, runId), { ...options, store });
}

/** A stored run with its header checked (any known header version); a missing run is an error. */
export async function loadStoredRun(store: RunStore, runId: string): Promise<StoredRun> {
  const stored = await store.loadRun(runId);
  if (!stored) throw new RunNotFoundError(`No run ${runId} in the store. Check the run id and the store.`);
  return { ...stored, header: parseRunHeader(stored.header) };
}

/** Continues a loaded run with the given agents. */
export function continueRun(stored: StoredRun, options: ResumeRunOptions & { store: RunStore }): DurableRun {
  const { header } = stored;
  // The log was written by a journal and is trusted; only the definition, which binds agents, is checked.
  const definition = parseRunDefinition(header.definition);
  const journal = journalFor(header.runId, options.store, definition, stored);
  const { root, cancel } = cancellableRoot(header.runId, journal, options.signal);
  return new DurableRun({
    id: header.runId,
    store: options.store,
    journal,
    root,
    createdAt: header.createdAt,
    definition,
    ...(header.pipeline ? { pipeline: header.pipeline } : {}),
    execute: executor(definition, bindAgents(definition.flow, options.agents)),
    agents: options.agents,
    cancel,
    cancelId: nextCancelId(stored.entries),
    cancelPollMs: cancelPollMsOf(options),
    resumedAfterCancel: honouredCancel(stored.entries) !== undefined,
  });
}

/** The run's root conversation, stopped by the caller's signal or by a cancel. */
function cancellableRoot(
  id: string,
  journal: RunJournal,
  signal: AbortSignal | undefined,
): { root: ChatRun; cancel: AbortController } {
  const cancel = new AbortController();
  const root = new ChatRun({
    id,
    journal,
    signal: signal ? AbortSignal.any([signal, cancel.signal]) : cancel.signal,
  });
  return { root, cancel };
}

/**
 * The `cancelPollMs` option, checked: Node turns a timer longer than 2,147,483,647 ms (about 24.8 days)
 * into a 1 ms one, which would read the store in a tight loop.
 */
export function cancelPollMsOf(options: { cancelPollMs?: number }): number {
  const value = options.cancelPollMs ?? DEFAULT_CANCEL_POLL_MS;
  if (!Number.isFinite(value) || value < 1 || value > MAX_CANCEL_POLL_MS) {
    throw new InvalidOptionError(
      `cancelPollMs must be a number of milliseconds from 1 to ${MAX_CANCEL_POLL_MS} (Node's longest timer, about 24.8 days) (got ${value}); the default is ${DEFAULT_CANCEL_POLL_MS}.`,
    );
  }
  return value;
}

/**
 * A resumed run whose code blocks all ran in earlier processes never re-attached its executors (that
 * happens before a live block). At the end it does, so the caller's executor holds the run's sandbox:
 * later blocks see its files and variables, and `close()` removes it instead of leaving it to its TTL.
 */
async function reattachExecutors(journal: RunJournal, agents: readonly ConversableAgent[]): Promise<void> {
  const byName = new Map<string, ConversableAgent>();
  const visit = (agent: ConversableAgent) => {
    if (byName.has(agent.name)) return;
    byName.set(agent.name, agent);
    if (agent instanceof GroupChatManager) for (const member of agent.groupchat.agents) visit(member);
  };
  for (const agent of agents) visit(agent);
  for (const [name, state] of journal.takeRemainingExecutorStates()) {
    const config = byName.get(name)?.codeExecutionConfig;
    const executor = config ? config.executor : undefined;
    if (executor?.restoreDurableState) await executor.restoreDurableState(state);
  }
}

/**
 * Writes `run-stopped` or `run-failed` (with the error's message) so readers in other processes
 * end. The key names this attempt, so a resumed run that stops again writes its own entry.
 */
async function recordEnd(
  journal: RunJournal,
  attempt: string,
  stopped: boolean,
  error: unknown,
  stopReason: { [key: string]: JsonValue },
): Promise<void> {
  const data: { [key: string]: JsonValue } = stopped
    ? stopReason
    : { error: error instanceof Error ? error.message : String(error) };
  try {
    await journal.record(
      `run:${stopped ? 'stopped' : 'failed'}:${attempt}`,
      stopped ? 'run-stopped' : 'run-failed',
      data,
    );
  } catch (recordError) {
    // The store itself may be what failed: a failure's error matters more than this entry. For a
    // stop, a lost lease is the news: another process holds the run now, so whoever awaits this one
    // must not act on its end (a fenced-off worker that saw a cancel must not mark the job cancelled).
    if (stopped && leaseWasLost(recordError)) throw recordError;
  }
}

function leaseWasLost(error: unknown): boolean {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof LeaseLostError) return true;
  }
  return false;
}
