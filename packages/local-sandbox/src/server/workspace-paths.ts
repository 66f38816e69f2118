import { constants } from 'node:fs';
import { type FileHandle, open, realpath } from 'node:fs/promises';
import path from 'node:path';
import { SANDBOX_WORKSPACE_PATH } from '../isolation/sandbox-environment.js';
import { HopxHttpError } from './http-utilities.js';

/** A request path checked to lie inside a sandbox's workspace. */
export interface WorkspacePath {
  /** Real host path (symlinks inside the workspace resolved), possibly not existing yet. */
  hostPath: string;
  /** The same path as the sandbox sees it (`/workspace/...`). */
  sandboxPath: string;
}

function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(`${root}/`);
}

function outside(requested: string): HopxHttpError {
  return new HopxHttpError(
    403,
    'PATH_NOT_ALLOWED',
    `Path ${JSON.stringify(requested)} is outside ${SANDBOX_WORKSPACE_PATH}; file calls may only touch the workspace.`,
    { path: requested },
  );
}

/**
 * Maps a request path (`/workspace/a`, `a`, `./a`) to the host, rejecting anything that leaves the
 * workspace: `..`, other absolute paths, and symlinks whose target is outside (resolved with realpath).
 * `followFinalLink: false` keeps a final symlink itself (for remove and list entries).
 */
export async function resolveWorkspacePath(
  workspaceRoot: string,
  requested: unknown,
  options: { followFinalLink?: boolean } = {},
): Promise<WorkspacePath> {
  if (typeof requested !== 'string' || requested.trim() === '') {
    throw new HopxHttpError(400, 'MISSING_PARAMETER', 'Missing required parameter "path".');
  }
  if (requested.includes('\0')) throw new HopxHttpError(400, 'INVALID_PATH', 'Path contains a NUL byte.');
  let relative: string;
  if (requested === SANDBOX_WORKSPACE_PATH) relative = '';
  else if (requested.startsWith(`${SANDBOX_WORKSPACE_PATH}/`))
    relative = requested.slice(SANDBOX_WORKSPACE_PATH.length + 1);
  else if (requested.startsWith('/')) throw outside(requested);
  else relative = requested;
  const normalized = path.posix.normalize(relative === '' ? '.' : relative);
  if (normalized === '..' || normalized.startsWith('../') || path.posix.isAbsolute(normalized))
    throw outside(requested);
  const lexical = normalized === '.' ? workspaceRoot : path.join(workspaceRoot, normalized);
  let existing = lexical;
  let rest = '';
  if (options.followFinalLink === false && lexical !== workspaceRoot) {
    rest = path.basename(lexical);
    existing = path.dirname(lexical);
  }
  for (;;) {
    try {
      const real = await realpath(existing);
      if (!isInside(workspaceRoot, real)) throw outside(requested);
      const hostPath = rest === '' ? real : path.join(real, rest);
      const sandboxRelative = path.relative(workspaceRoot, hostPath);
      return {
        hostPath,
        sandboxPath:
          sandboxRelative === '' ? SANDBOX_WORKSPACE_PATH : `${SANDBOX_WORKSPACE_PATH}/${sandboxRelative}`,
      };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && existing !== workspaceRoot) {
        rest = rest === '' ? path.basename(existing) : path.join(path.basename(existing), rest);
        existing = path.dirname(existing);
        continue;
      }
      if (code === 'ENOTDIR') {
        throw new HopxHttpError(
          400,
          'INVALID_PATH',
          `A parent of ${JSON.stringify(requested)} is not a directory.`,
        );
      }
      if (code === 'ELOOP') throw outside(requested);
      throw error;
    }
  }
}

/**
 * Opens a workspace file without following a final symlink, then checks through /proc that the
 * opened file really is inside the workspace, so a directory swapped for a symlink between the
 * check and the open cannot redirect the server to a host file.
 */
export async function openInsideWorkspace(
  workspaceRoot: string,
  hostPath: string,
  flags: number,
  mode?: number,
): Promise<FileHandle> {
  const handle = await open(hostPath, flags | constants.O_NOFOLLOW, mode);
  try {
    const opened = await realpath(`/proc/self/fd/${handle.fd}`);
    if (!isInside(workspaceRoot, opened)) {
      throw new HopxHttpError(
        403,
        'PATH_NOT_ALLOWED',
        'The path left the workspace while it was being opened.',
      );
    }
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}
