import type { ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

/**
 * The pipes of a sandbox's process server (`runtime/zygote.py`), whichever way it was started: a
 * spawn of its own (a bwrap per sandbox, see {@link IsolatedSandbox.spawn}), or a fork of a template's
 * fork server (see `fork-server.ts`).
 */
export interface ProcessServerChannel {
  /** Requests to the zygote (its fd 0). */
  readonly requests: Writable;
  /** The zygote's replies (its fd 3). */
  readonly replies: Readable;
  /** Calls to the persistent interpreter (its fd 4). */
  readonly replRequests: Writable;
  /** The persistent interpreter's replies (its fd 5); code it runs can write here too. */
  readonly replReplies: Readable;
  /** The zygote's own stdout and stderr: only its crashes write there. */
  readonly diagnostics: Readable[];
  /** Called once when the process server has exited (with its code or signal when known). */
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  /** Called when the process server could not be started. */
  onError(listener: (error: Error) => void): void;
  /** Kills the process server and everything it started. */
  kill(): void;
}

/** What the zygote is told at start (the spawn path passes the same as command-line flags). */
export interface ZygoteConfig {
  /** Path inside the sandbox of the cgroup delegated to it, or null. */
  run_cgroup: string | null;
  /** Whether the zygote may use Landlock (tests of its fallback turn it off). */
  landlock: boolean;
  /** Start the persistent interpreter at once. */
  start_repl: boolean;
  /** Memory limit in bytes and process limit, named in errors; null when unknown. */
  limits: [number, number] | null;
}

/** Options of {@link IsolatedSandbox.startProcessServer}. */
export interface ProcessServerStartOptions {
  /** Name of the fork server to fork from (the template's name). */
  forkServer: string;
  /** Working directory inside the sandbox. */
  cwd: string;
  /** The complete environment of the process server. */
  env: Record<string, string>;
  /** The zygote's configuration. */
  config: ZygoteConfig;
}

/** The channel of a process server spawned as a child process with fds 0-5 piped. */
export function childProcessChannel(child: ChildProcess): ProcessServerChannel {
  const stdio = child.stdio as unknown as (Readable & Writable)[];
  return {
    requests: child.stdin!,
    replies: stdio[3]!,
    replRequests: stdio[4]!,
    replReplies: stdio[5]!,
    diagnostics: [child.stdout!, child.stderr!],
    onExit: (listener) => child.once('exit', listener),
    onError: (listener) => child.once('error', listener),
    kill: () => child.kill('SIGKILL'),
  };
}
