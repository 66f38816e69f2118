import path from 'node:path';
import { SANDBOX_WORKSPACE_PATH } from '../isolation/sandbox-environment.js';
import { HopxHttpError } from './http-utilities.js';

/** The 403 for a path that leaves the workspace. */
export function outsideWorkspace(requested: string): HopxHttpError {
  return new HopxHttpError(
    403,
    'PATH_NOT_ALLOWED',
    `Path ${JSON.stringify(requested)} is outside ${SANDBOX_WORKSPACE_PATH}; file calls may only touch the workspace.`,
    { path: requested },
  );
}

/**
 * Maps a request path (`/workspace/a`, `a`, `./a`) to a normalized path relative to the workspace
 * (`''` for the workspace itself), rejecting `..` and other absolute paths. This is lexical only:
 * symlinks are resolved by the file helper, chrooted into the workspace, where none can lead out.
 */
export function workspaceRelativePath(requested: unknown): string {
  if (typeof requested !== 'string' || requested.trim() === '') {
    throw new HopxHttpError(400, 'MISSING_PARAMETER', 'Missing required parameter "path".');
  }
  if (requested.includes('\0')) throw new HopxHttpError(400, 'INVALID_PATH', 'Path contains a NUL byte.');
  let relative: string;
  if (requested === SANDBOX_WORKSPACE_PATH) relative = '';
  else if (requested.startsWith(`${SANDBOX_WORKSPACE_PATH}/`))
    relative = requested.slice(SANDBOX_WORKSPACE_PATH.length + 1);
  else if (requested.startsWith('/')) throw outsideWorkspace(requested);
  else relative = requested;
  const normalized = path.posix.normalize(relative === '' ? '.' : relative).replace(/\/+$/, '');
  if (normalized === '..' || normalized.startsWith('../') || path.posix.isAbsolute(normalized))
    throw outsideWorkspace(requested);
  return normalized === '.' || normalized === '' ? '' : normalized;
}

/** The sandbox's view of a workspace-relative path. */
export function sandboxPathOf(relative: string): string {
  return relative === '' ? SANDBOX_WORKSPACE_PATH : `${SANDBOX_WORKSPACE_PATH}/${relative}`;
}
