import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import {
  childProcessChannel,
  type ProcessServerChannel,
  type ZygoteConfig,
} from '../isolation/process-server-channel.js';
import type { IsolatedSandbox } from '../isolation/types.js';
import { type LineVerdict, MAX_PROTOCOL_LINE_BYTES, readJsonLines } from './json-lines.js';

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
  /** The sandbox's memory (bytes) and process limits, named in the errors of runs that hit them. */
  limits?: { memoryBytes: number; pids: number };
  /** The fork server to fork the process server from (the template's name), when the backend has one. */
  forkServer?: string;
}

/** Whether a line starting with `head` starts with `prefix` (`more`: too short to tell yet). */
function startsWith(head: Buffer, prefix: Buffer): LineVerdict {
  const length = Math.min(head.length, prefix.length);
  if (head.compare(prefix, 0, length, 0, length) !== 0) return 'skip';
  return head.length >= prefix.length ? 'accept' : 'more';
}

// How the runtime's `wire.dumps` starts its lines: a reply with its id first, the ready event.
const READY_PREFIX = Buffer.from('{"event": "ready"');
const replyPrefix = (id: string) => Buffer.from(`{"id": ${JSON.stringify(id)}, `);

const DIED: RunOutcome = {
  exitCode: 137,
  stdout: '',
  stderr: 'The sandbox process server stopped (out of memory or killed); the run was lost.\n',
  rich: {},
};

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
  #child: ProcessServerChannel | undefined;
  #ready: Promise<void> | undefined;
  #pending = new Map<string, Pending>();
  #nextId = 0;
  #closed = false;
  #replState: 'stopped' | 'starting' | 'ready' = 'stopped';
  #replReady: Promise<void> | undefined;
  #replReadyResolve: (() => void) | undefined;
  #replReadyReject: ((error: Error) => void) | undefined;
  #replPending:
    | { id: string; prefix: Buffer; claimed: boolean; resolve: (outcome: RunOutcome) => void }
    | undefined;
  #replQueue: Promise<unknown> = Promise.resolve();
  #replExited: (() => void)[] = [];
  #replReplies: Readable | undefined;
  #replSkippedBytes = 0;

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

  /** The zygote, forked from the template's fork server where there is one, else spawned. */
  async #open(startRepl: boolean): Promise<ProcessServerChannel> {
    const limits = this.#launch.limits;
    const forked = this.#launch.forkServer
      ? await this.#sandbox.startProcessServer?.({
          forkServer: this.#launch.forkServer,
          cwd: this.#launch.cwd,
          env: this.#launch.env,
          config: {
            run_cgroup: this.#launch.runCgroupPath,
            landlock: true,
            start_repl: startRepl,
            limits: limits ? [Math.floor(limits.memoryBytes), Math.floor(limits.pids)] : null,
          } satisfies ZygoteConfig,
        })
      : null;
    if (forked) return forked;
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
    if (limits)
      zygoteArguments.push('--limits', `${Math.floor(limits.memoryBytes)},${Math.floor(limits.pids)}`);
    if (startRepl) zygoteArguments.push('--start-repl');
    return childProcessChannel(
      this.#sandbox.spawn(this.#launch.python, zygoteArguments, {
        cwd: this.#launch.cwd,
        env: this.#launch.env,
        stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
      }),
    );
  }

  async #spawn(startRepl: boolean): Promise<void> {
    let child: ProcessServerChannel;
    try {
      child = await this.#open(startRepl);
    } catch (error) {
      // Not started (out of file descriptors, say): the next call tries again.
      this.#ready = undefined;
      throw error;
    }
    if (this.#closed) {
      child.kill();
      throw new Error('process server closed');
    }
    this.#child = child;
    // Its own stdout/stderr carry only crashes of the zygote itself; drain them so it never blocks.
    let diagnostics = '';
    const keepDiagnostics = (chunk: Buffer) => {
      diagnostics = (diagnostics + chunk.toString('utf8')).slice(-4000);
    };
    for (const stream of child.diagnostics) stream.on('data', keepDiagnostics);
    child.requests.on('error', () => {});
    child.replRequests.on('error', () => {});
    return new Promise<void>((resolve, reject) => {
      let started = false;
      readJsonLines(child.replies, {
        onMessage: (message) => {
          if (message.event === 'ready' && message.id === undefined) {
            started = true;
            resolve();
            return;
          }
          this.#onMessage(message);
        },
        // Only the zygote writes here; a runaway line means it is compromised or broken: restart it.
        onOverflow: () => child.kill(),
      });
      // A forked process server's connection arrives paused (its token was read off it first).
      child.replies.resume();
      const replies = child.replReplies;
      readJsonLines(replies, {
        // Code in the interpreter can write here: only the pending call's reply and a `ready` while
        // starting are read at all; anything else is skipped unparsed, however much of it comes.
        accept: (head) => {
          if (this.#replState === 'starting' && startsWith(head, READY_PREFIX) !== 'skip')
            return startsWith(head, READY_PREFIX);
          const pending = this.#replPending;
          if (!pending || pending.claimed) return 'skip';
          const verdict = startsWith(head, pending.prefix);
          // One line per call is read as its reply: copies of it are skipped, not queued for parsing.
          if (verdict === 'accept') pending.claimed = true;
          return verdict;
        },
        onInvalid: () => {
          const pending = this.#replPending;
          if (!pending?.claimed) return;
          this.#replPending = undefined;
          this.#listenToRepl();
          pending.resolve(MALFORMED);
        },
        onMessage: (message) => this.#onReplMessage(message),
        onOverflow: () => this.#onReplOverflow(),
        // Junk during a call is bounded like one runaway line: past it the interpreter is restarted.
        onSkipped: (bytes) => {
          if (!this.#replPending) return;
          this.#replSkippedBytes += bytes;
          if (this.#replSkippedBytes > MAX_PROTOCOL_LINE_BYTES) this.#onReplOverflow();
        },
      });
      // After the listener is attached, so that nothing is read before it.
      this.#replReplies = replies;
      this.#listenToRepl();
      child.onError((error) => {
        if (!started) reject(error);
      });
      child.onExit((code, signal) => {
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
    this.#child?.requests.write(`${JSON.stringify(message)}\n`);
  }

  /**
   * Reads the interpreter's reply pipe only while a reply or its start is awaited. In between the pipe
   * fills and code writing to it blocks, instead of costing this thread a read per 64 KiB.
   */
  #listenToRepl(): void {
    const replies = this.#replReplies;
    if (!replies) return;
    if (this.#replPending || this.#replState === 'starting') replies.resume();
    else replies.pause();
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
    this.#listenToRepl();
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
      this.#listenToRepl();
      this.#replReadyResolve?.();
      this.#replReadyResolve = undefined;
      this.#replReadyReject = undefined;
      return;
    }
    const pending = this.#replPending;
    if (!pending || message.id !== pending.id) return;
    this.#replPending = undefined;
    this.#listenToRepl();
    pending.resolve(toOutcome(message) ?? MALFORMED);
  }

  /** The interpreter flooded its reply pipe: answer the pending call and restart it. */
  #onReplOverflow(): void {
    const pending = this.#replPending;
    this.#replPending = undefined;
    this.#listenToRepl();
    pending?.resolve({
      exitCode: 1,
      stdout: '',
      stderr: `The Python interpreter wrote more than ${MAX_PROTOCOL_LINE_BYTES} bytes to its protocol pipe without a newline or that were not its reply; it was restarted and its variables are lost.\n`,
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
    this.#listenToRepl();
    if (pending) {
      const exitCode = typeof message?.exit_code === 'number' ? message.exit_code : DIED.exitCode;
      // What the call printed before the interpreter died, kept by the process server.
      const stdout = typeof message?.stdout === 'string' ? message.stdout : '';
      const stderr = typeof message?.stderr === 'string' ? message.stderr : '';
      const separator = stderr === '' || stderr.endsWith('\n') ? '' : '\n';
      pending.resolve({
        ...DIED,
        exitCode,
        stdout,
        stderr: `${stderr}${separator}The Python interpreter exited; its variables are lost.\n`,
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
        this.#replPending = { id, prefix: replyPrefix(id), claimed: false, resolve };
      });
      this.#replSkippedBytes = 0;
      this.#listenToRepl();
      this.#child?.replRequests.write(`${JSON.stringify({ id, code, env })}\n`);
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
      child.requests.end();
      child.kill();
    }
  }
}
