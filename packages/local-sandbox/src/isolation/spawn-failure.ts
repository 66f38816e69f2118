import type { ChildProcess } from 'node:child_process';
import { FileDescriptorLimitError } from '../errors.js';

/**
 * Node's spawn does not throw when it runs out of file descriptors: it returns a child without
 * stdio and emits `error` on the next tick, which crashes the process when nobody listens and
 * breaks every caller that reads `child.stdio`. This takes that event and throws a
 * {@link FileDescriptorLimitError} instead.
 */
export function throwIfOutOfFileDescriptors(child: ChildProcess): void {
  if (child.stdio !== undefined) return;
  child.once('error', () => {});
  throw new FileDescriptorLimitError('EMFILE');
}
