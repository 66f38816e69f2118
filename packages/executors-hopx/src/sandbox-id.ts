import { SandboxUnavailableError } from './errors.js';

/** What a sandbox id may look like before the executor uses it in a file name. */
const SANDBOX_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * Throws unless the server-chosen `sandboxId` is a plain name: it becomes part of the host paths of
 * saved images, and an id like `../../x` from a broken or hostile endpoint must not move them.
 */
export function assertSafeSandboxId(sandboxId: unknown, baseURL: string): asserts sandboxId is string {
  if (typeof sandboxId !== 'string' || !SANDBOX_ID_PATTERN.test(sandboxId) || sandboxId.includes('..')) {
    throw new SandboxUnavailableError(
      `The HopX endpoint ${baseURL} returned the sandbox id ${JSON.stringify(sandboxId)}, which is not ` +
        'a plain name (1-128 characters from [A-Za-z0-9_.-], no `..`); the sandbox was not used. Check baseURL: it ' +
        'must point at HopX or @hopgen/local-sandbox.',
    );
  }
}
