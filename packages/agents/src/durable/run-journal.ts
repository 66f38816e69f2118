import { RequestAnswerError, RunDivergedError } from './durable-errors.js';
import type { JsonValue, NewRunEntry, RequestAnswer, RunEntry, RunStore } from './run-store.js';

/** Which side effects wait for a person's approval before they run. */
export interface ApprovalPolicy {
  /** Ask before each batch of code blocks runs. @default false */
  codeExecution?: boolean;
  /** Ask before each tool call runs. @default false */
  toolCalls?: boolean;
}

/** Options of a stored request. */
export interface RequestOptions {
  /** Answer with `defaultAnswer` when nobody answered within this many milliseconds. @default no timeout */
  timeoutMs?: number;
  /** The answer used at the timeout. */
  defaultAnswer?: { [key: string]: JsonValue };
  /** Stops waiting (the run stops; the request stays stored for a resumed run). */
  signal?: AbortSignal;
}

/** What a step does when a resumed run finds its start recorded but not its end. */
export type InterruptedStep<T> = 'repeat' | (() => T);

type Listener = (entry: RunEntry) => void;

/** How often a waiting run looks for answers written by other processes, in milliseconds. */
const ANSWER_POLL_MS = 50;

/**
 * The durable side of a run: appends its log to the store and, on resume, answers from it. Each
 * entry has a key that depends only on the path through the conversation (`run path:ordinal`), so a
 * resumed run, replaying from the start with the same agents, meets the same keys: an entry already
 * stored is not written again, a finished side effect returns its stored result instead of running,
 * and a started but unfinished one is repeated or reported as interrupted, as its step says.
 */
export class RunJournal {
  /** The run's id in the store. */
  readonly runId: string;
  /** Where the log goes. */
  readonly store: RunStore;
  /** Which side effects need approval. */
  readonly approval: ApprovalPolicy;
  /** Timeout and default answer of human-input requests. */
  readonly humanInputOptions: RequestOptions;
  /**
   * The lease this journal's run holds, set once it is acquired: every append is fenced with it, so
   * a process whose lease was taken over (paused past it) cannot write into the new holder's log.
   */
  leaseOwner: string | undefined;
  /**
   * Called with each answer this journal learns of (read while a request waits, or given here):
   * the run's cancel travels as an answer, so a run waiting for a person notices it from these reads
   * instead of reading the answers a second time.
   */
  onAnswer: ((answer: RequestAnswer) => void) | undefined;
  readonly #stored = new Map<string, RunEntry>();
  readonly #answers = new Map<string, RequestAnswer>();
  readonly #listeners = new Set<Listener>();
  readonly #waiters = new Set<() => void>();
  readonly #executorStates = new Map<string, unknown>();
  #lastSequence = 0;
  #pendingWrites = 0;
  #waits = 0;

  constructor(options: {
    runId: string;
    store: RunStore;
    entries?: readonly RunEntry[];
    answers?: readonly RequestAnswer[];
    approval?: ApprovalPolicy;
    humanInput?: RequestOptions;
  }) {
    this.runId = options.runId;
    this.store = options.store;
    this.approval = options.approval ?? {};
    this.humanInputOptions = options.humanInput ?? {};
    for (const entry of options.entries ?? []) {
      this.#stored.set(entry.key, entry);
      this.#lastSequence = Math.max(this.#lastSequence, entry.sequence);
    }
    for (const answer of options.answers ?? []) this.#takeAnswer(answer);
  }

  /** The sequence number of the last entry written or loaded. */
  get lastSequence(): number {
    return this.#lastSequence;
  }

  /** Whether an entry with `key` is already stored. */
  has(key: string): boolean {
    return this.#stored.has(key);
  }

  /** The stored entry with `key`, if any. */
  stored(key: string): RunEntry | undefined {
    return this.#stored.get(key);
  }

  /** Calls `listener` with every entry appended from now on; returns the function that stops it. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Appends an event, unless this key was stored before (a resumed run passing the same point). */
  async record(key: string, type: string, data: { [key: string]: JsonValue }): Promise<void> {
    if (this.#expect(key, type)) return;
    await this.#append({ key, type, time: Date.now(), data });
  }

  /** The stored entry at `key`, if any; one of another type means the resumed run took another path. */
  #expect(key: string, type: string): RunEntry | undefined {
    const existing = this.#stored.get(key);
    if (existing && existing.type !== type) {
      throw new RunDivergedError(
        `The resumed run took another path at ${key}: the log has ${existing.type}, the run now makes ${type}. Reply functions, selectors and message functions must depend only on the conversation.`,
      );
    }
    return existing;
  }

  /**
   * Runs a side effect at most once per key: a stored end returns its result; a stored start
   * without an end is repeated (`'repeat'`) or answered by `interrupted()`; otherwise the start is
   * written, `execute` runs, and the end is written with the result.
   *
   * Each try has its own start entry (`key`, then `key.retry1`, ...), whose key `execute` gets as
   * `attemptKey` to name what it streams (`<attemptKey>.delta3`), so a repeated call never mixes
   * its entries with those of the try that died. When `execute` throws an error that `nothingRan`
   * accepts, a `<kind>-not-run` entry says so and a resumed run tries again instead of calling it
   * interrupted.
   */
  async step<T extends JsonValue>(
    key: string,
    kind: string,
    data: { [key: string]: JsonValue },
    execute: (attemptKey: string) => Promise<T>,
    interrupted: InterruptedStep<T>,
    nothingRan: (error: unknown) => boolean = () => false,
  ): Promise<T> {
    const end = this.#expect(`${key}.end`, `${kind}-end`);
    if (end) return end.data['result'] as T;
    this.#expect(key, `${kind}-start`);
    let attempt = 0;
    const attemptKey = () => (attempt === 0 ? key : `${key}.retry${attempt}`);
    if (interrupted === 'repeat') {
      while (this.#stored.has(attemptKey())) attempt += 1;
    } else {
      while (this.#stored.has(`${attemptKey()}.not-run`)) attempt += 1;
      if (this.#stored.has(attemptKey())) {
        const result = interrupted();
        await this.record(`${key}.end`, `${kind}-end`, { ...data, result, interrupted: true });
        return result;
      }
    }
    const started = attemptKey();
    await this.record(started, `${kind}-start`, attempt === 0 ? data : { ...data, attempt });
    let result: T;
    try {
      result = await execute(started);
    } catch (error) {
      if (nothingRan(error)) {
        const message = error instanceof Error ? error.message : String(error);
        await this.record(`${started}.not-run`, `${kind}-not-run`, { ...data, error: message });
      }
      throw error;
    }
    await this.record(`${key}.end`, `${kind}-end`, { ...data, result });
    return result;
  }

  /**
   * A stored request (human input or approval): written once, then answered by `addAnswer` from
   * this or another process, or by the default answer at the timeout, which counts from when the
   * request was first written (a restart does not extend it).
   */
  async request(
    key: string,
    kind: 'human-input' | 'approval',
    data: { [key: string]: JsonValue },
    options: RequestOptions = {},
  ): Promise<{ [key: string]: JsonValue }> {
    const decidedType = kind === 'human-input' ? 'human-input-provided' : 'approval-decided';
    const end = this.#expect(`${key}.end`, decidedType);
    if (end) return end.data['answer'] as { [key: string]: JsonValue };
    const requested = this.#expect(key, `${kind}-requested`);
    const expiresAt =
      (requested?.data['expiresAt'] as number | undefined) ??
      (options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs);
    await this.record(key, `${kind}-requested`, {
      ...data,
      requestId: key,
      ...(expiresAt === undefined ? {} : { expiresAt }),
    });
    const answer = await this.#waitForAnswer(key, expiresAt, options.defaultAnswer, options.signal);
    await this.record(`${key}.end`, decidedType, { ...data, requestId: key, answer });
    return answer;
  }

  /** Keeps the executor state the last code block of `agent` left (replayed or live). */
  keepExecutorState(agentName: string, state: unknown): void {
    this.#executorStates.set(agentName, state);
  }

  /** The executor state to re-attach to before `agent`'s next live block, once. */
  takeExecutorState(agentName: string): unknown {
    const state = this.#executorStates.get(agentName);
    this.#executorStates.delete(agentName);
    return state;
  }

  /** The executor states no live block took in this process, by agent name (taken now). */
  takeRemainingExecutorStates(): [string, unknown][] {
    const remaining = [...this.#executorStates];
    this.#executorStates.clear();
    return remaining;
  }

  /** Takes an answer given in this process, so the waiting run does not wait for the next poll. */
  notifyAnswer(answer: RequestAnswer): void {
    this.#takeAnswer(answer);
    for (const wake of [...this.#waiters]) wake();
  }

  /** Resolves when every append started so far is written. */
  async flushed(): Promise<void> {
    while (this.#pendingWrites > 0) await new Promise((resolve) => setImmediate(resolve));
  }

  #takeAnswer(answer: RequestAnswer): void {
    if (this.#answers.has(answer.requestId)) return;
    this.#answers.set(answer.requestId, answer);
    this.onAnswer?.(answer);
  }

  /**
   * Whether a request waits for its answer: this journal then reads the run's answers every 50 ms,
   * and hands each new one (a cancel too) to `onAnswer`.
   */
  get readingAnswers(): boolean {
    return this.#waits > 0;
  }

  /** Whether this journal knows an answer to `requestId`. */
  hasAnswer(requestId: string): boolean {
    return this.#answers.has(requestId);
  }

  async #append(entry: NewRunEntry): Promise<void> {
    this.#pendingWrites += 1;
    try {
      // A checkpoint's announcement goes in the same append (one transaction): it is in the log
      // exactly when what it announces is.
      const batch: NewRunEntry[] = isCheckpoint(entry)
        ? [
            entry,
            {
              key: `${entry.key}.checkpoint`,
              type: 'run-checkpointed',
              time: entry.time,
              data: { key: entry.key },
            },
          ]
        : [entry];
      for (const written of await this.store.append(this.runId, batch, this.leaseOwner)) {
        this.#stored.set(written.key, written);
        this.#lastSequence = Math.max(this.#lastSequence, written.sequence);
        for (const listener of this.#listeners) listener(written);
      }
    } finally {
      this.#pendingWrites -= 1;
    }
  }

  async #waitForAnswer(
    requestId: string,
    expiresAt: number | undefined,
    defaultAnswer: { [key: string]: JsonValue } | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ [key: string]: JsonValue }> {
    // While this counts a wait, the answers are read every ANSWER_POLL_MS: the run's cancel poll relies on it.
    this.#waits += 1;
    try {
      for (;;) {
        signal?.throwIfAborted();
        const answer = this.#answers.get(requestId);
        if (answer) return answer.answer;
        if (expiresAt !== undefined && Date.now() >= expiresAt) {
          if (defaultAnswer === undefined) {
            throw new RequestAnswerError(`Request ${requestId} timed out and has no default answer.`);
          }
          return { ...defaultAnswer, timedOut: true };
        }
        const wait = Math.min(
          ANSWER_POLL_MS,
          expiresAt === undefined ? ANSWER_POLL_MS : expiresAt - Date.now(),
        );
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            this.#waiters.delete(wake);
            // One listener per poll would pile up on the run's signal while a request waits for hours.
            signal?.removeEventListener('abort', wake);
            resolve();
          };
          const timer = setTimeout(wake, Math.max(0, wait));
          this.#waiters.add(wake);
          signal?.addEventListener('abort', wake, { once: true });
        });
        if (!this.#answers.has(requestId)) {
          for (const answer of await this.store.readAnswers(this.runId)) this.#takeAnswer(answer);
        }
      }
    } finally {
      this.#waits -= 1;
    }
  }
}

/**
 * Entries after which the run could resume from here: a message, the end of a side effect, a
 * decided request. Streamed pieces (`text-delta`, `code-output`) and starts are not checkpoints.
 */
function isCheckpoint(entry: NewRunEntry): boolean {
  return (
    entry.type === 'message-sent' ||
    entry.type.endsWith('-end') ||
    entry.type === 'human-input-provided' ||
    entry.type === 'approval-decided'
  );
}
