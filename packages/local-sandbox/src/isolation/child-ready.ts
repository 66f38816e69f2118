import type { ChildProcess } from 'node:child_process';

/**
 * Keeps the last `limit` characters of a child's standard error, for the message of an error about
 * it; returns a function that reads them.
 */
export function stderrTail(child: ChildProcess, limit: number): () => string {
  let tail = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-limit);
  });
  return () => tail.trim();
}

/**
 * Resolves once a helper process prints its `ready` line on standard output; rejects with
 * `failure(how it ended)` if it exits first, or with the spawn error if it could not start.
 */
export function childReady(child: ChildProcess, failure: (exit: string) => Error): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let output = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (output.includes('ready\n')) resolve();
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(failure(String(signal ?? code))));
  });
}
