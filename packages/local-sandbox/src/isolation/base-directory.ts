import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PreflightError } from '../errors.js';

/**
 * Whether every directory on the way to `directory` lets other users pass through (the `x` bit for
 * "others"). Sandboxes run as unprivileged uids and must reach their workspace below it.
 */
export async function isSearchableByOthers(directory: string): Promise<boolean> {
  let current = path.resolve(directory);
  for (;;) {
    const info = await stat(current).catch(() => null);
    if (info && (info.mode & 0o001) === 0) return false;
    const parent = path.dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}

/**
 * Where the backend keeps sandbox directories: the given directory, else the system temporary
 * directory, else `/tmp` when TMPDIR points at a private (0700) directory, as `mktemp -d` makes.
 */
export async function resolveBaseDirectory(configured: string | undefined): Promise<string> {
  if (configured !== undefined) {
    if (await isSearchableByOthers(configured)) return configured;
    throw new PreflightError(
      'directories',
      `baseDirectory ${configured} (or a directory above it) is not searchable by other users, so sandboxes, which run as unprivileged uids, could not reach their workspaces. Pick a directory whose parents have the x bit for others (chmod o+x), or leave baseDirectory unset.`,
    );
  }
  const system = tmpdir();
  if (await isSearchableByOthers(system)) return system;
  if (await isSearchableByOthers('/tmp')) return '/tmp';
  throw new PreflightError(
    'directories',
    `Neither TMPDIR (${system}) nor /tmp is searchable by other users, so sandboxes, which run as unprivileged uids, could not reach their workspaces. Run 'chmod o+x ${system}' or point TMPDIR at a directory like /tmp (mode 1777).`,
  );
}
