import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A long-lived Python helper of the server (mount helper, holder launcher): JSON lines both ways. */
export interface LineHelper {
  /** The helper process. */
  child: ChildProcess;
  /** The end of what it wrote to standard error, for the message of an error about it. */
  diagnostics(): string;
}

/**
 * Starts `python -I -S -c script ...args` in `/` with an empty environment (no user site directory,
 * no .pth files, no variable read) and hands `onMessage` every line of its standard output that is a
 * JSON object. `onEnd` is called once, with why, when it could not start or exited. It does not keep
 * the server's process alive until {@link setReferenced} says so.
 */
export function startLineHelper(options: {
  python: string;
  script: string;
  args?: string[];
  onMessage: (message: Record<string, unknown>) => void;
  onEnd: (reason: string) => void;
}): LineHelper {
  const child = spawn(options.python, ['-I', '-S', '-c', options.script, ...(options.args ?? [])], {
    cwd: '/',
    env: {},
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let diagnostics = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    diagnostics = (diagnostics + chunk.toString('utf8')).slice(-2000);
  });
  child.stdin?.on('error', () => undefined);
  if (child.stdout)
    createInterface({ input: child.stdout }).on('line', (line) => {
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        return;
      }
      if (typeof message === 'object' && message !== null)
        options.onMessage(message as Record<string, unknown>);
    });
  let ended = false;
  const end = (reason: string) => {
    if (ended) return;
    ended = true;
    options.onEnd(reason);
  };
  child.once('error', (error) => end(`could not start (${error.message})`));
  child.once('exit', (code, signal) => end(`exited (${signal ?? code})`));
  setReferenced(child, false);
  return { child, diagnostics: () => diagnostics.trim() };
}

/** An idle helper must not keep the server's process alive; one with calls pending must. */
export function setReferenced(child: ChildProcess, referenced: boolean): void {
  for (const handle of [child, child.stdin, child.stdout, child.stderr] as unknown as {
    ref?: () => void;
    unref?: () => void;
  }[]) {
    if (referenced) handle?.ref?.();
    else handle?.unref?.();
  }
}
