import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';

/**
 * Longest protocol line accepted from a sandbox, in bytes. A legitimate reply carries at most 4 MiB
 * of stdout, 4 MiB of stderr and the run's figures; anything longer is an attack or a runaway.
 */
export const MAX_PROTOCOL_LINE_BYTES = 80 * 1024 * 1024;

/**
 * Lines at least this long are parsed on a worker thread. Parsing tens of MiB takes the main thread
 * hundreds of milliseconds, during which every other sandbox's request waits.
 */
export const WORKER_PARSE_MIN_BYTES = 256 * 1024;

/** Whether a line that starts with `head` is worth reading: `more` asks for a longer head. */
export type LineVerdict = 'accept' | 'skip' | 'more';

/** How {@link readJsonLines} treats one stream. */
export interface JsonLineHandlers {
  /**
   * Decides from its first bytes whether a line can be a message the reader waits for. Skipped lines
   * are neither kept nor parsed, so a flood of junk costs only the scan for its newlines.
   */
  accept?: (head: Buffer) => LineVerdict;
  /** Receives each JSON object line, in stream order, projected to the protocol's known fields. */
  onMessage: (message: Record<string, unknown>) => void;
  /** Called once for each line longer than MAX_PROTOCOL_LINE_BYTES (it is dropped). */
  onOverflow: () => void;
  /** Called for an accepted line that is not a JSON object, in stream order. */
  onInvalid?: () => void;
  /** Counts the bytes of lines `accept` skipped, newlines included, as they pass. */
  onSkipped?: (bytes: number) => void;
}

// Keeps only the protocol's fields with their types, so a hostile line cannot make the main thread
// clone (or hold) anything else: huge arrays, deep objects. Also runs in the worker (as source text),
// so it must use nothing but globals.
function projectMessage(value: unknown): Record<string, unknown> | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const source = value as Record<string, unknown>;
  const message: Record<string, unknown> = {};
  for (const name of ['id', 'event', 'stdout', 'stderr']) {
    if (typeof source[name] === 'string') message[name] = source[name];
    else if (source[name] !== undefined) message[name] = null;
  }
  for (const name of ['exit_code', 'pid']) {
    if (typeof source[name] === 'number') message[name] = source[name];
    else if (source[name] !== undefined) message[name] = null;
  }
  const rich = source.rich;
  if (rich !== undefined) {
    if (rich === null || typeof rich !== 'object' || Array.isArray(rich)) {
      message.rich = null;
    } else {
      const fields = rich as Record<string, unknown>;
      const kept: Record<string, unknown> = {};
      for (const name of ['png', 'result', 'html'])
        if (typeof fields[name] === 'string') kept[name] = fields[name];
      if (Array.isArray(fields.pngs)) kept.pngs = fields.pngs.filter((item) => typeof item === 'string');
      message.rich = kept;
    }
  }
  return message;
}

/** The projected message of one line, or null when it is not a JSON object. */
function parseLine(bytes: Uint8Array): Record<string, unknown> | null {
  try {
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
    return projectMessage(JSON.parse(text));
  } catch {
    return null;
  }
}

const WORKER_SOURCE = `
const projectMessage = ${projectMessage.toString()};
const parseLine = ${parseLine.toString()};
const { parentPort } = require('node:worker_threads');
parentPort.on('message', ({ id, bytes }) => parentPort.postMessage({ id, message: parseLine(bytes) }));
`;

/** One worker thread for the whole process, started on first use and not keeping Node alive. */
class LineParser {
  #worker: Worker | undefined;
  #nextId = 0;
  readonly #waiting = new Map<number, (message: Record<string, unknown> | null) => void>();

  parse(line: Buffer): Promise<Record<string, unknown> | null> {
    const worker = this.#ensureWorker();
    const id = ++this.#nextId;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      worker.ref();
      // A buffer that owns its memory moves to the worker without a copy.
      const owned = line.byteOffset === 0 && line.byteLength === line.buffer.byteLength;
      worker.postMessage({ id, bytes: line }, owned ? [line.buffer as ArrayBuffer] : []);
    });
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.on('message', ({ id, message }: { id: number; message: Record<string, unknown> | null }) => {
      const resolve = this.#waiting.get(id);
      this.#waiting.delete(id);
      if (this.#waiting.size === 0) worker.unref();
      resolve?.(message);
    });
    const fail = () => {
      // A crashed worker answers nothing: its lines count as unparsable, the next line starts a new one.
      if (this.#worker === worker) this.#worker = undefined;
      for (const resolve of this.#waiting.values()) resolve(null);
      this.#waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    this.#worker = worker;
    return worker;
  }
}

const lineParser = new LineParser();

/**
 * Splits a byte stream into JSON lines and delivers the object lines, in order. Only the new chunk is
 * scanned for a newline, so a long line costs linear time; lines the `accept` test rejects are
 * skipped unread; long lines are parsed off the main thread; a line longer than
 * MAX_PROTOCOL_LINE_BYTES is dropped and reported once, and bytes up to the next newline are skipped.
 */
export function readJsonLines(stream: Readable, handlers: JsonLineHandlers): void {
  const accept = handlers.accept ?? (() => 'accept');
  let parts: Buffer[] = [];
  let length = 0;
  let skipping = false;
  let decided = false;
  // Deliveries wait for a line still parsing on the worker, so messages keep their order.
  let pending: Promise<void> | undefined;
  const deliver = (message: Record<string, unknown> | null) => {
    if (message) handlers.onMessage(message);
    else handlers.onInvalid?.();
  };
  const finishLine = (line: Buffer) => {
    if (line.length === 0) return;
    if (line.length < WORKER_PARSE_MIN_BYTES && !pending) {
      deliver(parseLine(line));
      return;
    }
    const previous = pending ?? Promise.resolve();
    const parsed =
      line.length < WORKER_PARSE_MIN_BYTES ? Promise.resolve(parseLine(line)) : lineParser.parse(line);
    const current: Promise<void> = Promise.all([parsed, previous]).then(([message]) => {
      if (pending === current) pending = undefined;
      deliver(message);
    });
    pending = current;
  };
  const skipped = (bytes: number) => {
    if (bytes > 0) handlers.onSkipped?.(bytes);
  };
  // Decides on the line's first bytes; skipping drops what was kept of it.
  const decide = () => {
    const head = parts.length === 1 ? parts[0]! : Buffer.concat(parts, length);
    const verdict = accept(head);
    if (verdict === 'more') return;
    decided = true;
    if (verdict === 'accept') return;
    skipped(length);
    parts = [];
    length = 0;
    skipping = true;
  };
  stream.on('data', (chunk: Buffer) => {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(10, start);
      if (newline === -1) break;
      const piece = chunk.subarray(start, newline);
      start = newline + 1;
      if (skipping) {
        skipping = false;
        decided = false;
        skipped(piece.length + 1);
        continue;
      }
      const line = parts.length === 0 ? piece : Buffer.concat([...parts, piece], length + piece.length);
      parts = [];
      length = 0;
      const wanted = decided || accept(line) === 'accept';
      decided = false;
      if (wanted) finishLine(line);
      else skipped(line.length + 1);
    }
    if (start >= chunk.length) return;
    const rest = chunk.subarray(start);
    if (skipping) {
      skipped(rest.length);
      return;
    }
    if (length + rest.length > MAX_PROTOCOL_LINE_BYTES) {
      parts = [];
      length = 0;
      skipping = true;
      decided = false;
      handlers.onOverflow();
      return;
    }
    // Copy: a retained subarray would keep the whole (up to 64 KiB) chunk alive.
    parts.push(rest.length === chunk.length ? rest : Buffer.from(rest));
    length += rest.length;
    if (!decided) decide();
  });
}
