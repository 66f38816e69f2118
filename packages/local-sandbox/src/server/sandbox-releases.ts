import { ConcurrencyLimit } from './concurrency-limit.js';

/**
 * What deleted sandboxes still hold once their processes are dead (cgroups, workspace mounts and
 * directories, uid leases), released after the delete has answered. Unmounting costs time in
 * proportion to the mounts on the host (`umount` reads the whole mount table, and every sandbox
 * adds two), so on the request path it made a delete slower the more sandboxes were alive.
 * At most `concurrency` releases run at once, so a burst of deletes starts a few `umount`
 * processes, not hundreds.
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
