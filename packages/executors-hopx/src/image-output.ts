import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Saves PNG images the sandbox returned, in a directory made on first use. */
export class ImageOutputStore {
  readonly #configuredDirectory: string | undefined;
  #directory: Promise<string> | undefined;
  #counter = 0;

  constructor(directory: string | undefined) {
    this.#configuredDirectory = directory;
  }

  /** Writes one base64 PNG and returns its absolute path. */
  async savePng(base64: string, sandboxId: string): Promise<string> {
    const directory = await this.#ensureDirectory();
    this.#counter += 1;
    const path = join(directory, `hopx-${sandboxId}-${Date.now()}-${this.#counter}.png`);
    await writeFile(path, Buffer.from(base64, 'base64'));
    return path;
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
