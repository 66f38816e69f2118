import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { RunStore } from '@hopgen/agents';
import { RequestError } from './errors.js';
import { loadStoredRun } from './run-status.js';

/**
 * An image a run's code saved (a chart), by file name. Only files that the run's own log lists as
 * outputs of a code run are served, so a name cannot reach any other file of the host.
 */
export async function readRunImage(store: RunStore, runId: string, name: string): Promise<Buffer> {
  const stored = await loadStoredRun(store, runId);
  const path = stored.entries
    .filter((entry) => entry.type === 'code-execution-end')
    .flatMap((entry) => {
      const files = (entry.data['result'] as { outputFiles?: unknown } | undefined)?.outputFiles;
      return Array.isArray(files) ? files.filter((file): file is string => typeof file === 'string') : [];
    })
    .find((file) => basename(file) === name && file.endsWith('.png'));
  if (path === undefined) {
    throw new RequestError(404, 'file-not-found', `Run ${runId} saved no image ${name}.`);
  }
  try {
    return await readFile(path);
  } catch {
    throw new RequestError(
      410,
      'file-gone',
      `Run ${runId}'s image ${name} is no longer on this machine (${path} was removed).`,
    );
  }
}
