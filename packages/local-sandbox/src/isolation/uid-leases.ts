import { randomInt } from 'node:crypto';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { SandboxCreateError } from '../errors.js';
import { processAlive } from './cgroups.js';
import { ensurePrivateDirectory } from './server-registry.js';

/**
 * Host uids for sandboxes, unique across every server on the host, not only within this one: two
 * sandboxes sharing a uid could signal or ptrace-inspect each other's host processes' /proc entries,
 * and "no process of this uid is left" would stop meaning "nothing of this sandbox survived".
 *
 * A lease is a file named after the uid in a root-only directory, created with O_EXCL and holding the
 * owner's pid; leases of dead servers are taken over. Uids are drawn at random from the range so
 * concurrent servers rarely even try the same one.
 */
export class UidLeases {
  readonly #directory: string;
  readonly #base: number;
  readonly #count: number;
  readonly #held = new Set<number>();

  constructor(options: { directory: string; base: number; count: number }) {
    this.#directory = options.directory;
    this.#base = options.base;
    this.#count = options.count;
  }

  /** Creates the lease directory, refusing one that someone else could have prepared. */
  async open(): Promise<void> {
    await ensurePrivateDirectory(path.dirname(this.#directory));
    await ensurePrivateDirectory(this.#directory);
  }

  /** Leases a free uid. */
  async acquire(): Promise<number> {
    for (let attempt = 0; attempt < 64; attempt++) {
      const uid = this.#base + randomInt(this.#count);
      if (this.#held.has(uid)) continue;
      if (this.#tryLease(uid)) {
        this.#held.add(uid);
        return uid;
      }
    }
    throw new SandboxCreateError(
      `No free sandbox uid in ${this.#base}..${this.#base + this.#count - 1} after 64 tries; raise hostUidCount.`,
    );
  }

  /** Gives a uid back. */
  async release(uid: number): Promise<void> {
    if (!this.#held.delete(uid)) return;
    await unlink(path.join(this.#directory, String(uid))).catch(() => undefined);
  }

  /**
   * Synchronous, on the create path: a few system calls on /run's tmpfs take microseconds, while each
   * trip through libuv's thread pool (four threads, shared with every other create of a burst) took
   * up to milliseconds.
   */
  #tryLease(uid: number): boolean {
    const file = path.join(this.#directory, String(uid));
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let owner = Number.NaN;
    try {
      owner = Number(readFileSync(file, 'utf8'));
    } catch {
      // Released meanwhile: try to take it below.
    }
    if (Number.isInteger(owner) && owner > 0 && processAlive(owner)) return false;
    // A dead server's lease: its processes died with it (--die-with-parent). Take it over.
    try {
      unlinkSync(file);
    } catch {
      // Gone already.
    }
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      return true;
    } catch {
      return false;
    }
  }
}
