import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { IsolatedSandbox } from '../isolation/types.js';

/** Rich outputs a Python run produced (`png` is base64). */
export interface RichOutputs {
  png?: string;
  pngs?: string[];
  result?: string;
  html?: string;
}

/** The outcome of one run in the sandbox. */
export interface RunOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
  rich: RichOutputs;
}

/** One run: a fresh forked Python (`python`) or an exec'd program (`exec`, with the code in a file). */
export interface RunRequest {
  kind: 'python' | 'exec';
  code?: string;
  /** Program and arguments for `exec`; the code file path is appended when `code` is set. */
  argv?: string[];
  /** Extension of the code file for `exec`. */
  extension?: string;
  /** Working directory as the sandbox sees it. */
  cwd: string;
  /** The complete environment of the run. */
  env: Record<string, string>;
}

/** A started run. */
export interface RunHandle {
  id: string;
  outcome: Promise<RunOutcome>;
}

interface Pending {
  resolve: (outcome: RunOutcome) => void;
}

/** How the process server is started inside a sandbox. */
export interface ProcessServerLaunch {
  python: string;
  zygotePath: string;
  /**
   * A cgroup delegated to the sandbox (its path inside the sandbox), in which the zygote gives every
   * run a sub-cgroup so that ending a run ends everything it started, `setsid` daemons included;
   * null where the backend has none, and then only the run's process group is killed.
   */
  runCgroupPath: string | null;
  cwd: string;
  env: Record<string, string>;
}

const DIED: RunOutcome = {
  exitCode: 137,
  stdout: '',
  stderr: 'The sandbox process server stopped (out of memory or killed); the run was lost.\n',
  rich: {},
};

/**
 * Longest protocol line accepted from a sandbox, in bytes. A legitimate reply carries at most 4 MiB
 * of stdout, 4 MiB of stderr and the run's figures; anything longer is an attack or a runaway.
 */
export const MAX_PROTOCOL_LINE_BYTES = 80 * 1024 * 1024;

/**
 * Splits a byte stream into JSON lines, ignoring lines that are not JSON objects. Only the new chunk
 * is scanned for a newline, so a long line costs linear time; a line longer than
 * MAX_PROTOCOL_LINE_BYTES is dropped and reported once, and bytes up to the next newline are skipped.
 */
function readJsonLines(
  stream: Readable,
  onMessage: (message: Record<string, unknown>) => void,
  onOverflow: () => void,
): void {
  let parts: Buffer[] = [];
  let length = 0;
  let skipping = false;
  const deliver = (line: Buffer) => {
    if (line.length === 0) return;
    try {
      const value: unknown = JSON.parse(line.toString('utf8'));
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        onMessage(value as Record<string, unknown>);
      }
    } catch {
      // A reply cut short by a kill, or noise; the next line starts fresh.
    }
  };
  stream.on('data', (chunk: Buffer) => {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(10, start);
      if (newline === -1) break;
      const piece = chunk.subarray(start, newline);
      start = newline + 1;
      if (skipping) {
        skipping = false;
        continue;
      }
      const line = parts.length === 0 ? piece : Buffer.concat([...parts, piece], length + piece.length);
      parts = [];
      length = 0;
      deliver(line);
    }
    if (start >= chunk.length || skipping) return;
    const rest = chunk.subarray(start);
    if (length + rest.length > MAX_PROTOCOL_LINE_BYTES) {
      parts = [];
      length = 0;
      skipping = true;
      onOverflow();
      return;
    }
    // Copy: a retained subarray would keep the whole (up to 64 KiB) chunk alive.
    parts.push(rest.length === chunk.length ? rest : Buffer.from(rest));
    length += rest.length;
  });
}

/** A reply's outcome, or null when its shape is not a reply's (it came from code, not the runtime). */
function toOutcome(message: Record<string, unknown>): RunOutcome | null {
  const exitCode = message.exit_code;
  if (typeof exitCode !== 'number' || !Number.isInteger(exitCode)) return null;
  if (message.stdout !== undefined && typeof message.stdout !== 'string') return null;
  if (message.stderr !== undefined && typeof message.stderr !== 'string') return null;
  const rawRich = message.rich ?? {};
  if (rawRich === null || typeof rawRich !== 'object' || Array.isArray(rawRich)) return null;
  const rich = rawRich as Record<string, unknown>;
  const outcome: RunOutcome = {
    exitCode,
    stdout: typeof message.stdout === 'string' ? message.stdout : '',
    stderr: typeof message.stderr === 'string' ? message.stderr : '',
    rich: {},
  };
  if (typeof rich.png === 'string') outcome.rich.png = rich.png;
  if (Array.isArray(rich.pngs)) outcome.rich.pngs = rich.pngs.filter((item) => typeof item === 'string');
  if (typeof rich.result === 'string') outcome.rich.result = rich.result;
  if (typeof rich.html === 'string') outcome.rich.html = rich.html;
  return outcome;
}

const MALFORMED: RunOutcome = {
  exitCode: 1,
  stdout: '',
  stderr: 'The sandbox sent a malformed reply for this run.\n',
  rich: {},
};

/**
 * Host side of `runtime/zygote.py`: one Python process per sandbox that forks a fresh child per run
 * and owns the persistent interpreter (REPL). Runs and REPL calls are asynchronous messages, so the
 * HTTP server never blocks on a sandbox.
 */
export class ProcessServer {
  readonly #sandbox: IsolatedSandbox;
  readonly #launch: ProcessServerLaunch;
  #child: ChildProcess | undefined;
  #ready: Promise<void> | undefined;
  #pending = new Map<string, Pending>();
  #nextId = 0;
  #closed = false;
  #replState: 'stopped' | 'starting' | 'ready' = 'stopped';
  #replReady: Promise<void> | undefined;
  #replReadyResolve: (() => void) | undefined;
  #replReadyReject: ((error: Error) => void) | undefined;
  #replPending: { id: string; resolve: (outcome: RunOutcome) => void } | undefined;
  #replQueue: Promise<unknown> = Promise.resolve();
  #replExited: (() => void)[] = [];

  constructor(sandbox: IsolatedSandbox, launch: ProcessServerLaunch) {
    this.#sandbox = sandbox;
    this.#launch = launch;
  }

  /** Starts the process server if it is not running; resolves when it accepts runs. */
  ready(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('process server closed'));
    this.#ready ??= this.#spawn(false);
    return this.#ready;
  }

  #spawn(startRepl: boolean): Promise<void> {
    // -S skips site's .pth processing (several ms per sandbox start); the zygote puts the package
    // directories on sys.path itself.
    // The zygote is imported rather than run as a script, so Python loads its cached bytecode instead
    // of compiling it at every start; sys.path[0] (the cwd for -c, which runs write) is replaced
    // before anything is imported from it.
    const zygoteArguments = [
      '-S',
      '-c',
      'import sys; sys.path[0] = sys.argv.pop(1); import zygote; zygote.main()',
      path.posix.dirname(this.#launch.zygotePath),
    ];
    if (this.#launch.runCgroupPath) zygoteArguments.push('--run-cgroup', this.#launch.runCgroupPath);
    if (startRepl) zygoteArguments.push('--start-repl');
    const child = this.#sandbox.spawn(this.#launch.python, zygoteArguments, {
      cwd: this.#launch.cwd,
      env: this.#launch.env,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
    });
    this.#child = child;
    // Its own stdout/stderr carry only crashes of the zygote itself; drain them so it never blocks.
    let diagnostics = '';
    const keepDiagnostics = (chunk: Buffer) => {
      diagnostics = (diagnostics + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout?.on('data', keepDiagnostics);
    child.stderr?.on('data', keepDiagnostics);
    child.stdin?.on('error', () => {});
    (child.stdio[4] as Writable | null)?.on('error', () => {});
    return new Promise<void>((resolve, reject) => {
      let started = false;
      readJsonLines(
        child.stdio[3] as Readable,
        (message) => {
          if (message.event === 'ready' && message.id === undefined) {
            started = true;
            resolve();
            return;
          }
          this.#onMessage(message);
        },
        // Only the zygote writes here; a runaway line means it is compromised or broken: restart it.
        () => child.kill('SIGKILL'),
      );
      readJsonLines(
        (child.stdio as unknown as Readable[])[5]!,
        (message) => this.#onReplMessage(message),
        () => this.#onReplOverflow(),
      );
      child.once('error', (error) => {
        if (!started) reject(error);
      });
      child.once('exit', (code, signal) => {
        if (this.#child === child) {
          this.#child = undefined;
          this.#ready = undefined;
        }
        if (!started) {
          reject(
            new Error(
              `The sandbox process server exited before it was ready (${signal ?? code}): ${diagnostics.trim()}`,
            ),
          );
        }
        for (const pending of this.#pending.values()) pending.resolve(DIED);
        this.#pending.clear();
        this.#onReplExit();
      });
    });
  }

  #send(message: Record<string, unknown>): void {
    this.#child?.stdin?.write(`${JSON.stringify(message)}\n`);
  }

  #onMessage(message: Record<string, unknown>): void {
    if (message.id === 'repl') {
      if (message.event === 'exited') this.#onReplExit(message);
      return;
    }
    if (message.event !== 'exited' || typeof message.id !== 'string') return;
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    pending.resolve(toOutcome(message) ?? MALFORMED);
  }

  /** Starts one run; the outcome resolves when the child has exited. */
  async run(request: RunRequest): Promise<RunHandle> {
    await this.ready();
    const id = `r${++this.#nextId}${randomBytes(6).toString('hex')}`;
    const outcome = new Promise<RunOutcome>((resolve) => this.#pending.set(id, { resolve }));
    const message: Record<string, unknown> = {
      op: 'run',
      id,
      kind: request.kind,
      cwd: request.cwd,
      env: request.env,
    };
    if (request.code !== undefined) message.code = request.code;
    if (request.argv) message.argv = request.argv;
    if (request.extension) message.ext = request.extension;
    this.#send(message);
    return { id, outcome };
  }

  /** Kills a run and everything in its session. */
  kill(id: string): void {
    this.#send({ op: 'kill', id });
  }

  /** Imports modules into the zygote so every later fresh run has them for free. */
  async preload(modules: string[]): Promise<void> {
    if (modules.length === 0) return;
    await this.ready();
    this.#send({ op: 'preload', id: 'preload', modules });
  }

  /** Starts the persistent interpreter (if needed) with `preload` imported; resolves when ready. */
  startRepl(preload: string[] = []): Promise<void> {
    if (this.#replState !== 'stopped' && this.#replReady) return this.#replReady;
    this.#replState = 'starting';
    // A process server that is not running yet forks the interpreter as its first act: in parallel
    // with the rest of its own start-up, and without a round trip to ask for it.
    const withServer = !this.#ready && !this.#closed && preload.length === 0;
    if (withServer) this.#ready = this.#spawn(true);
    this.#replReady = (async () => {
      const ready = new Promise<void>((resolve, reject) => {
        this.#replReadyResolve = resolve;
        this.#replReadyReject = reject;
      });
      // Rejected too when the process server fails first; that error is the one reported.
      ready.catch(() => {});
      await this.ready();
      if (!withServer) this.#send({ op: 'repl_start', preload });
      await ready;
    })();
    this.#replReady.catch(() => {
      this.#replState = 'stopped';
      this.#replReady = undefined;
    });
    return this.#replReady;
  }

  #onReplMessage(message: Record<string, unknown>): void {
    // The interpreter runs user code, so every line here is untrusted: only a `ready` while it is
    // starting and one well-formed reply to the one pending id count.
    if (message.event === 'ready' && message.id === undefined) {
      if (this.#replState !== 'starting' || !this.#replReadyResolve) return;
      this.#replState = 'ready';
      this.#replReadyResolve?.();
      this.#replReadyResolve = undefined;
      this.#replReadyReject = undefined;
      return;
    }
    const pending = this.#replPending;
    if (!pending || message.id !== pending.id) return;
    this.#replPending = undefined;
    pending.resolve(toOutcome(message) ?? MALFORMED);
  }

  /** The interpreter flooded its reply pipe: answer the pending call and restart it. */
  #onReplOverflow(): void {
    const pending = this.#replPending;
    this.#replPending = undefined;
    pending?.resolve({
      exitCode: 1,
      stdout: '',
      stderr: `The Python interpreter wrote more than ${MAX_PROTOCOL_LINE_BYTES} bytes without a newline to its protocol pipe; it was restarted and its variables are lost.\n`,
      rich: {},
    });
    if (this.#replState === 'stopped') return;
    // The next call must find a new interpreter, not the dying one.
    const exited = new Promise<void>((resolve) => this.#replExited.push(resolve));
    this.#replQueue = this.#replQueue.then(() => exited);
    this.#send({ op: 'repl_kill' });
  }

  #onReplExit(message?: Record<string, unknown>): void {
    this.#replState = 'stopped';
    this.#replReady = undefined;
    const pending = this.#replPending;
    this.#replPending = undefined;
    if (pending) {
      const exitCode = typeof message?.exit_code === 'number' ? message.exit_code : DIED.exitCode;
      pending.resolve({
        ...DIED,
        exitCode,
        stderr: 'The Python interpreter exited; its variables are lost.\n',
      });
    }
    const waiters = this.#replExited;
    this.#replExited = [];
    for (const waiter of waiters) waiter();
    // A REPL that never signalled ready must not leave its starter waiting forever.
    this.#replReadyReject?.(new Error('The Python interpreter exited while starting.'));
    this.#replReadyResolve = undefined;
    this.#replReadyReject = undefined;
  }

  /** Runs code in the persistent interpreter, one call at a time. */
  repl(code: string, env: Record<string, string>, preload: string[] = []): { outcome: Promise<RunOutcome> } {
    const outcome = this.#replQueue.then(async () => {
      try {
        await this.startRepl(preload);
      } catch {
        return { ...DIED, stderr: 'The Python interpreter could not start.\n' };
      }
      // Unguessable, so code in the interpreter cannot forge the reply to a later call blindly.
      const id = `i${++this.#nextId}${randomBytes(9).toString('hex')}`;
      const result = new Promise<RunOutcome>((resolve) => {
        this.#replPending = { id, resolve };
      });
      (this.#child?.stdio[4] as Writable | null)?.write(`${JSON.stringify({ id, code, env })}\n`);
      return result;
    });
    this.#replQueue = outcome.catch(() => undefined);
    return { outcome };
  }

  /** Kills the persistent interpreter (state lost); the next call starts a new one. */
  async killRepl(): Promise<void> {
    if (this.#replState === 'stopped' || !this.#child) return;
    const exited = new Promise<void>((resolve) => this.#replExited.push(resolve));
    this.#send({ op: 'repl_kill' });
    await exited;
  }

  /** Whether the persistent interpreter is running. */
  get replRunning(): boolean {
    return this.#replState === 'ready';
  }

  /** Stops the process server (its runs die with the sandbox). */
  close(): void {
    this.#closed = true;
    const child = this.#child;
    if (child) {
      child.stdin?.end();
      child.kill('SIGKILL');
    }
  }
}
