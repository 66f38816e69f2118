import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: examples write their output under `<root>/out/`, whatever the working directory. */
export const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Creates `out/<run-id>/` for one run of an example and returns its absolute path and id. */
export async function createRunDirectory(example: string): Promise<{ runId: string; directory: string }> {
  // Sortable and readable: 2025-11-26T04-31-07-group-chat-data-analysis-1a2b
  const stamp = new Date()
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replaceAll(':', '-');
  const runId = `${stamp}-${example}-${Math.random().toString(16).slice(2, 6)}`;
  const directory = join(process.env['HOPGEN_OUT_DIR'] ?? join(repositoryRoot, 'out'), runId);
  await mkdir(directory, { recursive: true });
  return { runId, directory };
}
