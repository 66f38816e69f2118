import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidOptionError } from '../errors.js';
import { leaseLost, RequestAnswerError, RunLockedError, RunNotFoundError } from './durable-errors.js';
import { RunLogIndex, type RunLogRead } from './run-log-index.js';
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
 * the next open). `answers/` holds one file per answered request and `lease.<n>` names the process
 * that runs the run; both are created whole under their final name with a hard link, which fails
 * when the name exists, so of two processes answering or taking over at once exactly one wins.
 */
export class FileRunStore implements RunStore {
  /** The folder that holds the runs. */
  readonly directory: string;
  readonly #fsync: boolean;
  readonly #logs = new Map<string, OpenLog>();
  readonly #index = new RunLogIndex();

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
  #read(runId: string, after = 0): RunLogRead {
    return this.#index.read(join(this.#existing(runId), 'log.jsonl'), after);
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

  async append(runId: string, entries: readonly NewRunEntry[], owner?: string): Promise<RunEntry[]> {
    // A lease here is taken over only from a process that is gone, so the check and the write need
    // no lock between them: the holder that passed the check cannot be replaced while it lives.
    if (owner !== undefined && this.#holder(this.#existing(runId))?.owner !== owner) throw leaseLost(runId);
    const log = this.#open(runId);
    const added = entries.map((entry, index) => ({ ...entry, sequence: log.lastSequence + index + 1 }));
    this.#write(log.descriptor, `${JSON.stringify(added)}\n`);
    log.lastSequence += added.length;
    return added;
  }

  async readEntries(runId: string, after: number): Promise<RunEntry[]> {
    return this.#read(runId, after).entries;
  }

  async addAnswer(runId: string, answer: RequestAnswer): Promise<void> {
    const folder = join(this.#existing(runId), 'answers');
    mkdirSync(folder, { recursive: true });
    const path = join(folder, `${encodeURIComponent(answer.requestId)}.json`);
    if (!this.#createExclusive(path, JSON.stringify(answer))) {
      throw new RequestAnswerError(
        `Request ${answer.requestId} of run ${runId} was answered already; the first answer counts. List open ones with pendingRequests(store, runId).`,
      );
    }
  }

  async readAnswers(runId: string): Promise<RequestAnswer[]> {
    const folder = join(this.#existing(runId), 'answers');
    if (!existsSync(folder)) return [];
    const answers = readdirSync(folder)
      .filter((name) => name.endsWith('.json'))
      .map((name) => {
        const path = join(folder, name);
        try {
          return JSON.parse(readFileSync(path, 'utf8')) as RequestAnswer;
        } catch (error) {
          throw new RunNotFoundError(
            `Answer file ${path} is not valid JSON (${(error as Error).message}). Delete it and answer the request again.`,
          );
        }
      });
    return answers.sort((first, second) => first.answeredAt - second.answeredAt);
  }

  /**
   * Creates `path` holding `text`, or returns false when it exists. The text is written to a
   * private file first and hard-linked into place, so nobody ever sees it half-written.
   */
  #createExclusive(path: string, text: string): boolean {
    const draft = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.draft`;
    const descriptor = openSync(draft, 'wx');
    try {
      this.#write(descriptor, text);
    } finally {
      closeSync(descriptor);
    }
    try {
      linkSync(draft, path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    } finally {
      unlinkSync(draft);
    }
  }

  /** Generations of the lease, newest first: `lease.<n>` files. */
  #leases(folder: string): number[] {
    return readdirSync(folder)
      .map((name) => /^lease\.(\d+)$/.exec(name)?.[1])
      .filter((generation) => generation !== undefined)
      .map(Number)
      .sort((first, second) => second - first);
  }

  /** The newest lease's holder, or `undefined` when nobody holds the run. */
  #holder(folder: string): { owner: string; pid: number } | undefined {
    for (;;) {
      const newest = this.#leases(folder)[0];
      if (newest === undefined) return undefined;
      try {
        return JSON.parse(readFileSync(join(folder, `lease.${newest}`), 'utf8')) as {
          owner: string;
          pid: number;
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        // released or replaced meanwhile: look again
      }
    }
  }

  async acquire(runId: string, owner: string): Promise<void> {
    const folder = this.#existing(runId);
    const lease = JSON.stringify({ owner, pid: process.pid });
    for (;;) {
      const newest = this.#leases(folder)[0];
      if (newest !== undefined) {
        let holder: { owner: string; pid: number };
        try {
          holder = JSON.parse(readFileSync(join(folder, `lease.${newest}`), 'utf8')) as typeof holder;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
          throw error;
        }
        if (holder.owner === owner) return;
        if (isAlive(holder.pid)) {
          throw new RunLockedError(
            `Run ${runId} is being run by process ${holder.pid}. Wait for it to finish or stop that process, then resume.`,
          );
        }
      }
      // No holder, or it died (killed or crashed): take the next generation. Of two processes that
      // both found it dead, only one creates it; the other sees the winner alive on its next turn.
      const generation = (newest ?? 0) + 1;
      if (!this.#createExclusive(join(folder, `lease.${generation}`), lease)) continue;
      for (const older of this.#leases(folder)) {
        if (older < generation) rmSync(join(folder, `lease.${older}`), { force: true });
      }
      return;
    }
  }

  async release(runId: string, owner: string): Promise<void> {
    const folder = this.#folder(runId);
    const newest = existsSync(folder) ? this.#leases(folder)[0] : undefined;
    if (newest !== undefined) {
      const path = join(folder, `lease.${newest}`);
      try {
        const holder = JSON.parse(readFileSync(path, 'utf8')) as { owner: string };
        if (holder.owner === owner) rmSync(path, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
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

/** Parses each line alone, to name the first one that is not JSON. */
function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
