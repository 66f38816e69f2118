import type { ChildProcess } from 'node:child_process';
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

/** Splits a byte stream into JSON lines, ignoring lines that are not JSON objects. */
function readJsonLines(stream: Readable, onMessage: (message: Record<string, unknown>) => void): void {
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    let newline = buffer.indexOf('\n');
    while (newline !== -1) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      newline = buffer.indexOf('\n');
      if (line.trim() === '') continue;
      try {
        const value: unknown = JSON.parse(line);
        if (value !== null && typeof value === 'object') onMessage(value as Record<string, unknown>);
      } catch {
        // A reply cut short by a kill; the next line starts fresh.
      }
    }
  });
}

function toOutcome(message: Record<string, unknown>): RunOutcome {
  const rich = (message.rich ?? {}) as Record<string, unknown>;
  const outcome: RunOutcome = {
    exitCode: typeof message.exit_code === 'number' ? message.exit_code : 1,
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
    this.#ready ??= this.#spawn();
    return this.#ready;
  }

  #spawn(): Promise<void> {
    const zygoteArguments = [this.#launch.zygotePath];
    if (this.#launch.runCgroupPath) zygoteArguments.push('--run-cgroup', this.#launch.runCgroupPath);
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
      readJsonLines(child.stdio[3] as Readable, (message) => {
        if (message.event === 'ready' && message.id === undefined) {
          started = true;
          resolve();
          return;
        }
        this.#onMessage(message);
      });
      readJsonLines((child.stdio as unknown as Readable[])[5]!, (message) => this.#onReplMessage(message));
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
    pending.resolve(toOutcome(message));
  }

  /** Starts one run; the outcome resolves when the child has exited. */
  async run(request: RunRequest): Promise<RunHandle> {
    await this.ready();
    const id = `r${++this.#nextId}`;
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
    this.#replReady = (async () => {
      await this.ready();
      const ready = new Promise<void>((resolve, reject) => {
        this.#replReadyResolve = resolve;
        this.#replReadyReject = reject;
      });
      this.#send({ op: 'repl_start', preload });
      await ready;
    })();
    this.#replReady.catch(() => {
      this.#replState = 'stopped';
      this.#replReady = undefined;
    });
    return this.#replReady;
  }

  #onReplMessage(message: Record<string, unknown>): void {
    if (message.event === 'ready') {
      this.#replState = 'ready';
      this.#replReadyResolve?.();
      this.#replReadyResolve = undefined;
      this.#replReadyReject = undefined;
      return;
    }
    const pending = this.#replPending;
    if (!pending || message.id !== pending.id) return;
    this.#replPending = undefined;
    pending.resolve(toOutcome(message));
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
      const id = `i${++this.#nextId}`;
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
