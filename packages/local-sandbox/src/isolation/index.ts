import { InvalidOptionError } from '../errors.js';
import { NoneBackend, type NoneBackendOptions } from './none-backend.js';
import type { IsolationBackend } from './types.js';

export { NoneBackend, type NoneBackendOptions } from './none-backend.js';
export type * from './types.js';

/** Options of {@link createIsolationBackend}; each backend reads the fields it knows. */
export type IsolationBackendOptions = NoneBackendOptions;

/** Creates the isolation backend named `kind`. Call `preflight()` on it before the first `create()`. */
export function createIsolationBackend(
  kind: 'bubblewrap' | 'none',
  options: IsolationBackendOptions = {},
): IsolationBackend {
  switch (kind) {
    case 'none':
      return new NoneBackend(options);
    default:
      throw new InvalidOptionError(
        `Isolation backend ${JSON.stringify(kind)} is not available yet in this build; use 'none' for now.`,
      );
  }
}
