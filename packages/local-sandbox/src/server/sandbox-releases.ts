import { ConcurrencyLimit } from './concurrency-limit.js';

/**
 * What deleted sandboxes still hold once their processes are dead (cgroups, workspace mounts and
 * directories, uid leases), released after the delete has answered. This was added when unmounting
 * ran the `umount` program, which reads the whole mount table (two entries per live sandbox) and so
 * made a delete slower the more sandboxes were alive; unmounts are now system calls in the mount
 * helper (`mount-helper.ts`), and what is left here is removing cgroups and directories. At most
 * `concurrency` releases run at once, so a burst of deletes does not compete with creates.
 */
export class SandboxReleases {
  readonly #slots: ConcurrencyLimit;
  readonly #pending = new Set<Promise<void>>();
  readonly #onError: (error: unknown) => void;

  constructor(options: {
    /** Releases running at once. */
    concurrency: number;
    /** Receives a release's failure (the release itself is not retried here). */
    onError: (error: unknown) => void;
  }) {
    this.#slots = new ConcurrencyLimit(options.concurrency);
    this.#onError = options.onError;
  }

  /** Releases waiting or running. */
  get size(): number {
    return this.#pending.size;
  }

  /** Queues `release`; it runs when a slot is free. */
  add(release: () => Promise<void>): void {
    const work = (async () => {
      const done = await this.#slots.acquire();
      try {
        await release();
      } finally {
        done();
      }
    })()
      .catch(this.#onError)
      .finally(() => this.#pending.delete(work));
    this.#pending.add(work);
  }

  /** Resolves once fewer than `count` releases are waiting or running. */
  async fewerThan(count: number): Promise<void> {
    while (this.#pending.size >= count) await Promise.race([...this.#pending]);
  }

  /** Resolves once every release queued so far, and every one queued meanwhile, has finished. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}
