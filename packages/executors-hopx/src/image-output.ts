import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';

/** One PNG a block produced: a figure it displayed (no name) or a file it wrote (the name it gave). */
export interface BlockImage {
  data: Buffer;
  /** The file name the code chose (`sales_analysis.png`); displayed figures are named `figure.png`. */
  name?: string;
}

/** What {@link ImageOutputStore.saveBlockImages} kept and what it left out. */
export interface SavedImages {
  /** Absolute paths of the PNGs written, in the order the block produced them. */
  paths: string[];
  /** The same files named relative to the output folder: what the model is shown, never a host path. */
  names: string[];
  /** Images not written because the block went over a cap. */
  skipped: number;
}

/** Longest run of collisions tried before giving up on a name (a full directory, in practice). */
const MAX_NAME_ATTEMPTS = 10_000;

/**
 * Saves PNG images the sandbox returned. With a configured directory they stay there; otherwise they go
 * to one private temporary directory per executor (`hopgen-hopx-*`, made on first use), which
 * {@link ImageOutputStore.remove} deletes when the executor closes. Files keep the names the code gave
 * them; a name already taken gets `-2`, `-3`... before its extension, so no image overwrites another.
 */
export class ImageOutputStore {
  readonly #configuredDirectory: string | undefined;
  readonly #maxImages: number;
  readonly #maxBytes: number;
  #directory: Promise<string> | undefined;

  constructor(directory: string | undefined, limits: { maxImages: number; maxBytes: number }) {
    this.#configuredDirectory = directory;
    this.#maxImages = limits.maxImages;
    this.#maxBytes = limits.maxBytes;
  }

  /** The most bytes of images one block may save. */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /** Writes one block's PNGs, up to the per-block count and byte caps. */
  async saveBlockImages(images: Iterable<BlockImage>): Promise<SavedImages> {
    const saved: SavedImages = { paths: [], names: [], skipped: 0 };
    let bytes = 0;
    for (const image of images) {
      if (saved.paths.length >= this.#maxImages || bytes + image.data.length > this.#maxBytes) {
        saved.skipped += 1;
        continue;
      }
      bytes += image.data.length;
      const directory = await this.#ensureDirectory();
      const name = await writeUnderFreeName(directory, image.name ?? 'figure.png', image.data);
      saved.paths.push(join(directory, name));
      saved.names.push(name);
    }
    return saved;
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

/**
 * Writes `data` as `name` in `directory`, or as `stem-2.ext`, `stem-3.ext`... when taken. The exclusive
 * flag makes the check and the write one step, so two executors sharing a folder never overwrite each other.
 */
async function writeUnderFreeName(directory: string, name: string, data: Buffer): Promise<string> {
  const extension = extname(name);
  const stem = name.slice(0, name.length - extension.length);
  for (let attempt = 1; attempt <= MAX_NAME_ATTEMPTS; attempt += 1) {
    const candidate = attempt === 1 ? name : `${stem}-${attempt}${extension}`;
    try {
      await writeFile(join(directory, candidate), data, { flag: 'wx' });
      return candidate;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  throw new Error(`no free name for ${name} in ${directory} after ${MAX_NAME_ATTEMPTS} attempts`);
}

/** A safe local file name for a name the sandbox reported: its last path segment, PNG only. */
export function imageFileName(reported: string): string | undefined {
  const base = reported.split(/[/\\]/).pop() ?? '';
  if (base === '' || base === '.' || base === '..' || base.includes('\0')) return undefined;
  return base.toLowerCase().endsWith('.png') ? base : undefined;
}
