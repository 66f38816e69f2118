import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { RunNotFoundError } from './durable-errors.js';
import type { RunEntry, RunHeader } from './run-store.js';

/** What a read of a run log found. */
export interface RunLogRead {
  header: RunHeader;
  /** Entries with a sequence number above the read's `after`, freshly parsed (callers may change them). */
  entries: RunEntry[];
  /** Bytes of the log up to the end of its last complete line. */
  validLength: number;
}

/** One log as indexed so far: where each append's line starts and the last sequence number in it. */
interface IndexedLog {
  inode: number;
  /** Bytes indexed: the end of the last complete line seen. */
  indexedBytes: number;
  header: RunHeader | undefined;
  /** Byte offset of each entries line (the header's line excluded), in order. */
  offsets: number[];
  /** Highest sequence number in or before each of those lines. */
  lastSequences: number[];
}

/** Logs indexed at once; the oldest is forgotten past this (an index costs two numbers per append). */
const MAX_INDEXED_LOGS = 256;
const NEWLINE = 0x0a;

/**
 * Reads run logs (`log.jsonl`: a header line, then one JSON array of entries per append) so that a
 * reader after sequence N parses only the lines past N: a follower polling a run, or a server
 * listing many runs, costs what is new rather than the whole log each time. The index is of byte
 * offsets only; every read parses what it returns again, so no entry object is shared between reads.
 * A log that shrank or was replaced (another inode) is indexed again from its start.
 */
export class RunLogIndex {
  readonly #logs = new Map<string, IndexedLog>();

  /** The header and the entries after `after` of the log at `path`; a last line without its newline is left out. */
  read(path: string, after: number): RunLogRead {
    const descriptor = openSync(path, 'r');
    try {
      const { size, ino: inode } = fstatSync(descriptor);
      let log = this.#logs.get(path);
      if (!log || log.inode !== inode || size < log.indexedBytes) {
        log = { inode, indexedBytes: 0, header: undefined, offsets: [], lastSequences: [] };
      }
      // Refresh its place as the most recently used.
      this.#logs.delete(path);
      this.#logs.set(path, log);
      if (this.#logs.size > MAX_INDEXED_LOGS) this.#logs.delete(this.#logs.keys().next().value!);

      const firstLine = firstLineAfter(log.lastSequences, after);
      const start = firstLine < log.offsets.length ? log.offsets[firstLine]! : log.indexedBytes;
      const bytes = readRange(descriptor, start, size);
      const entries: RunEntry[] = [];
      let lineStart = 0;
      // Entries lines are numbered from 2 (the header is line 1), for messages that point at a line.
      let lineNumber = start === 0 ? 1 : firstLine + 2;
      for (let end = bytes.indexOf(NEWLINE); end !== -1; end = bytes.indexOf(NEWLINE, lineStart)) {
        const offset = start + lineStart;
        const parsed = parseLine(bytes.subarray(lineStart, end), path, lineNumber);
        lineStart = end + 1;
        if (offset === 0) {
          log.header = parsed as RunHeader;
        } else {
          if (!Array.isArray(parsed)) throw notEntries(path, lineNumber);
          const appended = parsed as RunEntry[];
          for (const entry of appended) if (entry.sequence > after) entries.push(entry);
          if (offset >= log.indexedBytes) {
            log.offsets.push(offset);
            log.lastSequences.push(appended.at(-1)?.sequence ?? log.lastSequences.at(-1) ?? 0);
          }
        }
        log.indexedBytes = Math.max(log.indexedBytes, start + lineStart);
        lineNumber++;
      }
      if (!log.header) throw new RunNotFoundError(`${path} has no header line. Restore the log from a copy.`);
      return { header: log.header, entries, validLength: log.indexedBytes };
    } finally {
      closeSync(descriptor);
    }
  }

  /** Forgets the log at `path` (it was truncated or rewritten by this process). */
  forget(path: string): void {
    this.#logs.delete(path);
  }
}

/** Index of the first line whose last sequence number is above `after` (binary search). */
function firstLineAfter(lastSequences: readonly number[], after: number): number {
  let low = 0;
  let high = lastSequences.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (lastSequences[middle]! > after) high = middle;
    else low = middle + 1;
  }
  return low;
}

function readRange(descriptor: number, start: number, end: number): Buffer {
  const buffer = Buffer.allocUnsafe(Math.max(0, end - start));
  let filled = 0;
  while (filled < buffer.length) {
    const count = readSync(descriptor, buffer, filled, buffer.length - filled, start + filled);
    if (count === 0) break;
    filled += count;
  }
  return buffer.subarray(0, filled);
}

function parseLine(line: Buffer, path: string, lineNumber: number): unknown {
  try {
    return JSON.parse(line.toString('utf8'));
  } catch (error) {
    throw new RunNotFoundError(
      `Line ${lineNumber} of ${path} is not valid JSON (${(error as Error).message}). The log was changed by hand; restore it from a copy.`,
    );
  }
}

/** The error for a line after the header that is not a JSON array of entries. */
export function notEntries(path: string, lineNumber: number): RunNotFoundError {
  return new RunNotFoundError(
    `Line ${lineNumber} of ${path} is not a list of entries. The log was changed by hand; restore it from a copy.`,
  );
}
