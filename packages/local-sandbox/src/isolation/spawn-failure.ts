import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { FileDescriptorLimitError, fileDescriptorExhaustion } from '../errors.js';

/**
 * Descriptors a create must find free: about 8 to start its process server (the three connections
 * of a forked process server, or a spawned one's pipes, argument pipe and seccomp filter),
 * and as many again for the HTTP connections and starts that arrive meanwhile. The `mount` processes
 * creates used to run needed about this many, which is what made creates fail first, not accepts.
 */
const DESCRIPTOR_HEADROOM = 16;

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

/**
 * Throws a {@link FileDescriptorLimitError} when the server could not open `count` descriptors: by
 * default the ones a sandbox's start needs. A create checks this before it answers: its process
 * server starts after the answer, and a sandbox that can never start must not be handed out.
 */
export function throwIfFewFileDescriptors(count = DESCRIPTOR_HEADROOM): void {
  const opened: number[] = [];
  try {
    for (let index = 0; index < count; index++) opened.push(openSync('/dev/null', 'r'));
  } catch (error) {
    const code = fileDescriptorExhaustion(error);
    if (code) throw new FileDescriptorLimitError(code, { cause: error });
    throw error;
  } finally {
    for (const descriptor of opened) closeSync(descriptor);
  }
}
