import type { Sandbox } from '@hopx-ai/sdk';
import { type BlockImage, imageFileName } from './image-output.js';

/** The working directory of code in a HopX sandbox, where `savefig("chart.png")` writes. */
const WORKSPACE = '/workspace';

/**
 * Finds the PNG files a block wrote in the sandbox's working directory (top level), so they can be saved
 * under the names the code gave them. It remembers each file's size and modification time: a file that is
 * new or changed since the last look was written by the block that just ran. The first look in a sandbox
 * only records what is there (files uploaded before the first block are not the code's images).
 */
export class WorkspaceImageTracker {
  #sandboxId: string | undefined;
  #seen = new Map<string, string>();

  /** Records the files already there, once per sandbox, before its first block that collects images. */
  async baseline(sandbox: Sandbox): Promise<void> {
    if (this.#sandboxId === sandbox.sandboxId) return;
    this.#sandboxId = sandbox.sandboxId;
    this.#seen = new Map();
    for (const entry of await listPngs(sandbox)) this.#seen.set(entry.name, entry.signature);
  }

  /**
   * Downloads the PNG files that are new or changed since the last look, by name. A file larger than
   * `maxBytes` is counted in `tooLarge` instead of being downloaded.
   */
  async collect(sandbox: Sandbox, maxBytes: number): Promise<{ images: BlockImage[]; tooLarge: number }> {
    const images: BlockImage[] = [];
    let tooLarge = 0;
    for (const entry of await listPngs(sandbox)) {
      if (this.#seen.get(entry.name) === entry.signature) continue;
      this.#seen.set(entry.name, entry.signature);
      if (entry.size > maxBytes) {
        tooLarge += 1;
        continue;
      }
      images.push({ name: entry.name, data: await sandbox.files.download(`${WORKSPACE}/${entry.name}`) });
    }
    return { images, tooLarge };
  }
}

async function listPngs(sandbox: Sandbox): Promise<{ name: string; size: number; signature: string }[]> {
  const entries = await sandbox.files.list(WORKSPACE);
  const pngs: { name: string; size: number; signature: string }[] = [];
  for (const entry of entries) {
    const name = imageFileName(entry.name);
    if (entry.is_dir || name === undefined || name !== entry.name) continue;
    pngs.push({ name, size: entry.size, signature: `${entry.size}:${entry.modified}` });
  }
  return pngs;
}
