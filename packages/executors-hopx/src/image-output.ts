import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What {@link ImageOutputStore.saveBlockImages} kept and what it left out. */
export interface SavedImages {
  /** Absolute paths of the PNGs written, in the order the block showed them. */
  paths: string[];
  /** Images not written because the block went over a cap. */
  skipped: number;
}

/**
 * Saves PNG images the sandbox returned. With a configured directory they stay there; otherwise they go
 * to one private temporary directory per executor (`hopgen-hopx-*`, made on first use), which
 * {@link ImageOutputStore.remove} deletes when the executor closes.
 */
export class ImageOutputStore {
  readonly #configuredDirectory: string | undefined;
  readonly #maxImages: number;
  readonly #maxBytes: number;
  #directory: Promise<string> | undefined;
  #counter = 0;

  constructor(directory: string | undefined, limits: { maxImages: number; maxBytes: number }) {
    this.#configuredDirectory = directory;
    this.#maxImages = limits.maxImages;
    this.#maxBytes = limits.maxBytes;
  }

  /** Writes one block's base64 PNGs, up to the per-block count and byte caps. */
  async saveBlockImages(images: Iterable<string>, sandboxId: string): Promise<SavedImages> {
    const paths: string[] = [];
    let skipped = 0;
    let bytes = 0;
    for (const base64 of images) {
      const data = Buffer.from(base64, 'base64');
      if (paths.length >= this.#maxImages || bytes + data.length > this.#maxBytes) {
        skipped += 1;
        continue;
      }
      bytes += data.length;
      const directory = await this.#ensureDirectory();
      this.#counter += 1;
      const path = join(directory, `hopx-${sandboxId}-${Date.now()}-${this.#counter}.png`);
      await writeFile(path, data);
      paths.push(path);
    }
    return { paths, skipped };
  }

  /** Deletes the temporary directory, if this store made one; a configured directory is kept. */
  async remove(): Promise<void> {
    const made = this.#configuredDirectory === undefined ? this.#directory : undefined;
    this.#directory = undefined;
    if (made === undefined) return;
    const directory = await made.catch(() => undefined);
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
  }

  #ensureDirectory(): Promise<string> {
    const configured = this.#configuredDirectory;
    this.#directory ??=
      configured === undefined
        ? mkdtemp(join(tmpdir(), 'hopgen-hopx-'))
        : mkdir(configured, { recursive: true }).then(() => configured);
    return this.#directory;
  }
}
