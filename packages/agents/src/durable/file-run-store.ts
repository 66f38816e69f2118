import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidOptionError } from '../errors.js';
import { RunLockedError, RunNotFoundError } from './durable-errors.js';
import type { NewRunEntry, RequestAnswer, RunEntry, RunHeader, RunStore, StoredRun } from './run-store.js';

/** Options of {@link FileRunStore}. */
export interface FileRunStoreOptions {
  /** Folder that holds one sub-folder per run. @default '.hopgen/runs' in the working directory */
  directory?: string;
  /**
   * Flush every append to the disk (`fsync`) before it counts as done. Without it an append survives
   * the process being killed (it is in the kernel's cache) but not a power cut. @default false
   */
  fsync?: boolean;
}

const RUN_ID = /^[A-Za-z0-9_.-]{1,128}$/;

interface OpenLog {
  descriptor: number;
  lastSequence: number;
}

/**
 * The default {@link RunStore}: an append-only JSON-lines log per run in a folder, no native
 * module and no server. `log.jsonl` starts with the run's header, then holds one line per
 * `append` (so an append is all or nothing: a line cut short by a crash is dropped and cut off on
 * the next open). `answers.jsonl` takes answers from any process (small `O_APPEND` writes), and
 * `lease` names the process that runs the run.
 */
export class FileRunStore implements RunStore {
  /** The folder that holds the runs. */
  readonly directory: string;
  readonly #fsync: boolean;
  readonly #logs = new Map<string, OpenLog>();

  constructor(options: FileRunStoreOptions = {}) {
    this.directory = resolve(options.directory ?? join('.hopgen', 'runs'));
    this.#fsync = options.fsync ?? false;
    mkdirSync(this.directory, { recursive: true });
  }

  #folder(runId: string): string {
    if (!RUN_ID.test(runId)) {
      throw new InvalidOptionError(
        `Run id ${JSON.stringify(runId)} cannot name a folder. Use letters, digits, '.', '_' and '-' (at most 128).`,
      );
    }
    return join(this.directory, runId);
  }

  #existing(runId: string): string {
    const folder = this.#folder(runId);
    if (!existsSync(join(folder, 'log.jsonl'))) {
      throw new RunNotFoundError(
        `No run ${runId} in ${this.directory}. Check the run id and the store's directory.`,
      );
    }
    return folder;
  }

  /** Reads the log; a last line without its newline (a write cut short) is left out. */
  #read(runId: string): { header: RunHeader; entries: RunEntry[]; validLength: number } {
    const text = readFileSync(join(this.#existing(runId), 'log.jsonl'), 'utf8');
    const end = text.lastIndexOf('\n') + 1;
    const lines = text.slice(0, end).split('\n');
    lines.pop();
    const header = JSON.parse(lines[0] ?? 'null') as RunHeader;
    const entries: RunEntry[] = [];
    for (const line of lines.slice(1)) entries.push(...(JSON.parse(line) as RunEntry[]));
    return { header, entries, validLength: Buffer.byteLength(text.slice(0, end)) };
  }

  #open(runId: string): OpenLog {
    let log = this.#logs.get(runId);
    if (log === undefined) {
      const { entries, validLength } = this.#read(runId);
      const descriptor = openSync(join(this.#folder(runId), 'log.jsonl'), 'r+');
      ftruncateSync(descriptor, validLength);
      closeSync(descriptor);
      log = {
        descriptor: openSync(join(this.#folder(runId), 'log.jsonl'), 'a'),
        lastSequence: entries.at(-1)?.sequence ?? 0,
      };
      this.#logs.set(runId, log);
    }
    return log;
  }

  #write(descriptor: number, line: string): void {
    writeSync(descriptor, line);
    if (this.#fsync) fsyncSync(descriptor);
  }

  async createRun(header: RunHeader): Promise<void> {
    const folder = this.#folder(header.runId);
    mkdirSync(folder, { recursive: true });
    try {
      writeFileSync(join(folder, 'log.jsonl'), `${JSON.stringify(header)}\n`, { flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new RunLockedError(`Run ${header.runId} already exists. Resume it with resumeRun instead.`);
      }
      throw error;
    }
  }

  async loadRun(runId: string): Promise<StoredRun | undefined> {
    if (!existsSync(join(this.#folder(runId), 'log.jsonl'))) return undefined;
    const { header, entries } = this.#read(runId);
    return { header, entries, answers: await this.readAnswers(runId) };
  }

  async append(runId: string, entries: readonly NewRunEntry[]): Promise<RunEntry[]> {
    const log = this.#open(runId);
    const added = entries.map((entry, index) => ({ ...entry, sequence: log.lastSequence + index + 1 }));
    this.#write(log.descriptor, `${JSON.stringify(added)}\n`);
    log.lastSequence += added.length;
    return added;
  }

  async readEntries(runId: string, after: number): Promise<RunEntry[]> {
    return this.#read(runId).entries.filter((entry) => entry.sequence > after);
  }

  async addAnswer(runId: string, answer: RequestAnswer): Promise<void> {
    const descriptor = openSync(join(this.#existing(runId), 'answers.jsonl'), 'a');
    try {
      this.#write(descriptor, `${JSON.stringify(answer)}\n`);
    } finally {
      closeSync(descriptor);
    }
  }

  async readAnswers(runId: string): Promise<RequestAnswer[]> {
    const path = join(this.#existing(runId), 'answers.jsonl');
    if (!existsSync(path)) return [];
    const text = readFileSync(path, 'utf8');
    return text
      .slice(0, text.lastIndexOf('\n') + 1)
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as RequestAnswer);
  }

  async acquire(runId: string, owner: string): Promise<void> {
    const path = join(this.#existing(runId), 'lease');
    const lease = JSON.stringify({ owner, pid: process.pid });
    try {
      writeFileSync(path, lease, { flag: 'wx' });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = JSON.parse(readFileSync(path, 'utf8')) as { owner: string; pid: number };
    if (holder.owner !== owner && isAlive(holder.pid)) {
      throw new RunLockedError(
        `Run ${runId} is being run by process ${holder.pid}. Wait for it to finish or stop that process, then resume.`,
      );
    }
    // The holder died (killed or crashed): its lease is stale, take it over.
    writeFileSync(path, lease);
  }

  async release(runId: string, owner: string): Promise<void> {
    const path = join(this.#folder(runId), 'lease');
    if (!existsSync(path)) return;
    const holder = JSON.parse(readFileSync(path, 'utf8')) as { owner: string };
    if (holder.owner === owner) rmSync(path, { force: true });
    const log = this.#logs.get(runId);
    if (log) {
      closeSync(log.descriptor);
      this.#logs.delete(runId);
    }
  }

  async listRuns(): Promise<string[]> {
    return readdirSync(this.directory).filter((name) => existsSync(join(this.directory, name, 'log.jsonl')));
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
