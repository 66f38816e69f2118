import { BubblewrapBackend, type BubblewrapBackendOptions } from './bubblewrap-backend.js';
import { NoneBackend, type NoneBackendOptions } from './none-backend.js';
import type { IsolationBackend } from './types.js';

export { BubblewrapBackend, type BubblewrapBackendOptions } from './bubblewrap-backend.js';
export { NoneBackend, type NoneBackendOptions } from './none-backend.js';
export type * from './types.js';

/** Options of {@link createIsolationBackend}; each backend reads the fields it knows. */
export type IsolationBackendOptions = BubblewrapBackendOptions & NoneBackendOptions;

/** Creates the isolation backend named `kind`. Call `preflight()` on it before the first `create()`. */
export function createIsolationBackend(
  kind: 'bubblewrap' | 'none',
  options: IsolationBackendOptions = {},
): IsolationBackend {
  return kind === 'none' ? new NoneBackend(options) : new BubblewrapBackend(options);
}
