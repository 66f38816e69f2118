import type { CodeOutputChunk } from '../code-execution/types.js';
import type { RunJournal } from './run-journal.js';

/** Shortest time between two `code-output` entries of one block, in milliseconds. */
export const CODE_OUTPUT_INTERVAL_MS = 50;

/**
 * Writes what a running block prints to the run's log as `code-output` entries, at most one per
 * {@link CODE_OUTPUT_INTERVAL_MS} per block, so a chatty block does not flood the store. Chunks
 * that arrive in between are merged (per stream, in order) into the next entry.
 */
export class CodeOutputLog {
  readonly #journal: RunJournal;
  readonly #attemptKey: string;
  readonly #data: { agent: string; stepId: string };
  #pending: CodeOutputChunk[] = [];
  #entries = 0;
  #lastWrite = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #writes: Promise<void> = Promise.resolve();

  constructor(journal: RunJournal, options: { agent: string; stepId: string; attemptKey: string }) {
    this.#journal = journal;
    this.#attemptKey = options.attemptKey;
    this.#data = { agent: options.agent, stepId: options.stepId };
  }

  /** Takes a chunk; it is written with the next entry. */
  add(chunk: CodeOutputChunk): void {
    // An executor that prints after its result came back would put output after the block's end.
    if (this.#closed) return;
    const last = this.#pending.at(-1);
    if (last?.stream === chunk.stream) last.text += chunk.text;
    else this.#pending.push({ ...chunk });
    if (this.#timer !== undefined) return;
    const wait = Math.max(0, this.#lastWrite + CODE_OUTPUT_INTERVAL_MS - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#write();
    }, wait);
  }

  /** Writes what is pending and resolves when every entry is in the log (before the block's end is). */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#write();
    await this.#writes;
  }

  #write(): void {
    if (this.#pending.length === 0) return;
    const chunks = this.#pending;
    this.#pending = [];
    this.#lastWrite = Date.now();
    this.#entries += 1;
    const key = `${this.#attemptKey}.output${this.#entries}`;
    const data = { ...this.#data, chunks: chunks.map((chunk) => ({ ...chunk })) };
    // In order, one after another; a failed write shows at close, with the block's own result.
    this.#writes = this.#writes.then(() => this.#journal.record(key, 'code-output', data));
  }
}
