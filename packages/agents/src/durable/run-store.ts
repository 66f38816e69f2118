/** A JSON value, as stored. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * One entry of a run's append-only log: a message, the start or end of a side effect, a request, or
 * another event. `key` is deterministic (the same path through the conversation gives the same
 * keys), so a resumed run recognises what it already did; `sequence` orders entries for readers.
 */
export interface RunEntry {
  /** 1, 2, 3... per run, assigned by the store. */
  sequence: number;
  /** Stable id of what this entry records, unique in the run (a step id, a message id...). */
  key: string;
  /** The event name, noun-verb (`message-sent`, `model-call-end`, `human-input-requested`...). */
  type: string;
  /** When it was appended, in milliseconds since the epoch. */
  time: number;
  /** The event's JSON form (agent names, never objects). */
  data: { [key: string]: JsonValue };
}

/** An entry before the store gives it a sequence number. */
export type NewRunEntry = Omit<RunEntry, 'sequence'>;

/** What a run was started with: enough to run it again from the start with the same agents. */
export interface RunHeader {
  /** The header's schema version: 2 when written by this code; absent in headers written before pipelines (version 1). */
  schemaVersion?: number;
  /** The run's id. */
  runId: string;
  /** When the run was created, in milliseconds since the epoch. */
  createdAt: number;
  /** The flow and its plain-JSON options (see `RunDefinition`). */
  definition: { [key: string]: JsonValue };
  /** The pipeline that built the run (`startPipeline`) and its JSON input; absent for `startChat` and `startChats`. */
  pipeline?: { name: string; input?: JsonValue };
}

/** An answer to a stored request (human input or approval), written by whoever answered it. */
export interface RequestAnswer {
  /** The request answered. */
  requestId: string;
  /** The answer: `{ text }` for human input, `{ approved: true }` or `{ approved: false, reason }` for approvals. */
  answer: { [key: string]: JsonValue };
  /** When it was answered, in milliseconds since the epoch. */
  answeredAt: number;
}

/** Everything stored for one run. */
export interface StoredRun {
  /** How the run started. */
  header: RunHeader;
  /** The log, in sequence order. */
  entries: RunEntry[];
  /** Answers to its requests, first answer per request first. */
  answers: RequestAnswer[];
}

/**
 * Where durable runs keep their log. One writer appends to a run at a time (the process that
 * holds the run's lease); anyone may add answers. Every method is async so a database store
 * (PostgreSQL, for many machines) can implement the same interface; `append` is one transaction.
 */
export interface RunStore {
  /** Creates an empty run; fails when the id exists. */
  createRun(header: RunHeader): Promise<void>;
  /** Everything stored for `runId`, or `undefined` when there is no such run. */
  loadRun(runId: string): Promise<StoredRun | undefined>;
  /**
   * Appends entries in one transaction, in order, and returns them with their sequence numbers.
   * With `owner`, the append is fenced: it throws `LeaseLostError` and writes nothing unless
   * `owner` holds the run's lease (checked in the same transaction).
   */
  append(runId: string, entries: readonly NewRunEntry[], owner?: string): Promise<RunEntry[]>;
  /** Entries with a sequence number above `after`, in order. */
  readEntries(runId: string, after: number): Promise<RunEntry[]>;
  /** Adds an answer; throws `RequestAnswerError` when the request has one already, even from another process. */
  addAnswer(runId: string, answer: RequestAnswer): Promise<void>;
  /** Answers given so far, in the order they were given; throws `RunNotFoundError` for a run that does not exist. */
  readAnswers(runId: string): Promise<RequestAnswer[]>;
  /** Takes the run's lease for `owner`; throws `RunLockedError` while another live owner holds it. */
  acquire(runId: string, owner: string): Promise<void>;
  /** Gives the lease back. */
  release(runId: string, owner: string): Promise<void>;
  /** Ids of every stored run. */
  listRuns(): Promise<string[]>;
}
