import { randomBytes, randomInt } from 'node:crypto';
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
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
 * A lease is a file named after the uid in a root-only directory holding the owner's pid, linked into
 * place complete (never seen empty); leases of dead servers are taken over by renaming them away
 * first, which only one server can do. Uids are drawn at random from the range so
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
    if (this.#create(file)) return true;
    const owner = this.#owner(file);
    // Absent: released meanwhile. Not a pid (one an older server, which wrote after creating, is
    // still writing): left to it.
    if (owner === null) return this.#create(file);
    if (!Number.isInteger(owner) || owner <= 0 || processAlive(owner)) return false;
    // A dead server's lease: its processes died with it (--die-with-parent). Of the servers taking it
    // over, only the one that renames it away goes on.
    const stale = `${file}.stale-${process.pid}-${randomBytes(6).toString('hex')}`;
    try {
      renameSync(file, stale);
    } catch {
      return false;
    }
    // Another server took it over between the read and the rename: its live lease goes back.
    if (this.#owner(stale) !== owner) {
      try {
        linkSync(stale, file);
      } catch {
        // Taken again meanwhile.
      }
      removeStale(stale);
      return false;
    }
    removeStale(stale);
    return this.#create(file);
  }

  /** The pid in a lease file (NaN if it holds none), or null if there is no such file. */
  #owner(file: string): number | null {
    try {
      const text = readFileSync(file, 'utf8');
      return text === '' ? Number.NaN : Number(text);
    } catch {
      return null;
    }
  }

  /** Links a complete lease of this server's to `file`; false if it exists. */
  #create(file: string): boolean {
    const temporary = this.#write(String(process.pid));
    try {
      linkSync(temporary, file);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return false;
    } finally {
      // Only the temporary name: a lease that was linked stays, and a failure here must not fail it.
      try {
        unlinkSync(temporary);
      } catch {}
    }
  }

  /** A new file named for no uid, holding `content`. */
  #write(content: string): string {
    const temporary = path.join(this.#directory, `.lease-${process.pid}-${randomBytes(6).toString('hex')}`);
    writeFileSync(temporary, content, { flag: 'wx', mode: 0o600 });
    return temporary;
  }
}

/** Removes a lease renamed away (a server starting may have reclaimed it already: it names a dead pid). */
function removeStale(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Gone already.
  }
}
