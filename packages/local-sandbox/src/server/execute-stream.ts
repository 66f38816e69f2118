import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { WebSocket } from 'ws';
import { assertRunning, languageFor } from './execute-routes.js';
import {
  HopxHttpError,
  MAX_EXECUTION_TIMEOUT_SECONDS,
  optionalPositiveNumber,
  optionalString,
  optionalStringMap,
  requiredString,
} from './http-utilities.js';
import { setLongTimeout } from './long-timer.js';
import { baseEnvironment, type SandboxSession } from './sandbox-session.js';

/**
 * Gap between WebSocket frames. The SDK's client listens with one `once('message')` per frame and
 * drops frames that arrive in the same socket read, so frames must not be sent back to back.
 */
const FRAME_GAP_MS = 5;

type Frame = Record<string, unknown> & { type: string };

/** Most output (stdout and stderr together) one streamed run may send, in bytes; like `/execute`'s 4 MiB. */
export const STREAM_OUTPUT_LIMIT_BYTES = 4 * 1024 * 1024;

/** Sends frames one at a time, FRAME_GAP_MS apart, merging queued output of the same stream. */
class PacedSender {
  readonly #socket: WebSocket;
  readonly #queue: Frame[] = [];
  #timer: NodeJS.Timeout | undefined;
  #lastSent = 0;
  #drained: (() => void) | undefined;

  constructor(socket: WebSocket) {
    this.#socket = socket;
  }

  push(frame: Frame): void {
    const last = this.#queue.at(-1);
    if (last && (frame.type === 'stdout' || frame.type === 'stderr') && last.type === frame.type) {
      last.data = String(last.data) + String(frame.data);
    } else {
      this.#queue.push(frame);
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer || this.#queue.length === 0) return;
    const wait = Math.max(0, this.#lastSent + FRAME_GAP_MS - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const frame = this.#queue.shift();
      if (frame && this.#socket.readyState === this.#socket.OPEN) {
        this.#socket.send(JSON.stringify(frame));
      }
      this.#lastSent = Date.now();
      if (this.#queue.length > 0) this.#schedule();
      else this.#drained?.();
    }, wait);
  }

  /** Resolves once every queued frame has been sent. */
  drain(): Promise<void> {
    if (this.#queue.length === 0 && !this.#timer) return Promise.resolve();
    return new Promise((resolve) => {
      this.#drained = resolve;
    });
  }
}

function now(): string {
  return new Date().toISOString();
}

/** Serves one `/execute/stream` WebSocket for `session`. */
export function serveExecuteStream(session: SandboxSession, socket: WebSocket): void {
  const sender = new PacedSender(socket);
  let child: ChildProcess | undefined;
  let started = false;
  const stop = () => {
    child?.kill('SIGKILL');
  };
  session.onDestroy.add(stop);
  socket.on('close', () => {
    stop();
    session.onDestroy.delete(stop);
  });
  socket.on('error', () => stop());
  const finish = async (success: boolean) => {
    await sender.drain();
    sender.push({ type: 'complete', success, timestamp: now() });
    await sender.drain();
  };
  const fail = async (error: unknown) => {
    stop();
    const known =
      error instanceof HopxHttpError
        ? error
        : session.destroyed
          ? new HopxHttpError(404, 'SANDBOX_NOT_FOUND', `Sandbox ${session.id} was destroyed.`)
          : new HopxHttpError(500, 'INTERNAL_ERROR', `Internal error: ${String(error)}`);
    sender.push({ type: 'error', error: known.message, code: known.code, timestamp: now() });
    await finish(false);
  };
  socket.on('message', (data) => {
    if (started) return;
    started = true;
    // Nothing a client sends may become an unhandled rejection: that would end the whole server.
    run(session, sender, data.toString(), (process) => {
      child = process;
    })
      .then((success) => finish(success))
      .catch(fail)
      .catch(() => {})
      .finally(() => session.onDestroy.delete(stop));
  });
}

/** Parses and checks an `execute` frame with the same rules as `POST /execute`. */
function parseExecuteFrame(text: string): {
  code: string;
  language: string | undefined;
  timeoutSeconds: number;
  env: Record<string, string> | undefined;
  workdir: string | undefined;
} {
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch {
    throw new HopxHttpError(400, 'INVALID_JSON', 'The frame is not valid JSON.');
  }
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    throw new HopxHttpError(400, 'INVALID_REQUEST', 'Expected {"type":"execute","code":...}.');
  }
  const body = request as Record<string, unknown>;
  if (body.type !== 'execute') {
    throw new HopxHttpError(400, 'INVALID_REQUEST', 'Expected {"type":"execute","code":...}.');
  }
  return {
    code: requiredString(body, 'code'),
    language: optionalString(body, 'language'),
    timeoutSeconds: optionalPositiveNumber(body, 'timeout', MAX_EXECUTION_TIMEOUT_SECONDS) ?? 60,
    env: optionalStringMap(body, 'env'),
    workdir: optionalString(body, 'workdir'),
  };
}

/** Runs one streamed execution; resolves with its success, throws a HopxHttpError to report. */
async function run(
  session: SandboxSession,
  sender: PacedSender,
  text: string,
  started: (process: ChildProcess) => void,
): Promise<boolean> {
  const request = parseExecuteFrame(text);
  assertRunning(session);
  const runtime = languageFor(session, request.language);
  const env = session.runEnvironment(request.env);
  const timeoutSeconds = request.timeoutSeconds;
  const stdinMode = runtime.stdinArgs.length > 0;
  // The run's variables and code go in on stdin, through a launcher that sets them inside the sandbox:
  // on bwrap's command line (--setenv) every local user could read them with ps.
  const python = session.template.languages.get('python')?.command ?? '/usr/bin/python3';
  const args = [
    '-S',
    '-E',
    path.posix.join(session.view.runtime, 'stream_launcher.py'),
    runtime.extension,
    stdinMode ? 'stdin' : 'file',
    runtime.command,
    ...(stdinMode ? runtime.stdinArgs : runtime.args),
  ];
  const startedAt = performance.now();
  session.metrics.executions++;
  const process = session.isolated.spawn(python, args, {
    cwd: session.workingDirectory(request.workdir),
    env: baseEnvironment(session.view, session.internetAccess),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  started(process);
  process.stdin?.on('error', () => {});
  process.stdin?.end(`${JSON.stringify(env)}\n${request.code}`);
  process.stdout?.setEncoding('utf8');
  process.stderr?.setEncoding('utf8');
  // The same cap as the other routes (the zygote keeps 4 MiB per stream); at the cap the run stops.
  let streamed = 0;
  let capped = false;
  const forward = (type: 'stdout' | 'stderr') => (chunk: string) => {
    if (capped) return;
    const room = STREAM_OUTPUT_LIMIT_BYTES - streamed;
    const size = Buffer.byteLength(chunk);
    if (size <= room) {
      streamed += size;
      sender.push({ type, data: chunk, timestamp: now() });
      return;
    }
    capped = true;
    const kept = Buffer.from(chunk).subarray(0, room).toString('utf8');
    if (kept !== '') sender.push({ type, data: kept, timestamp: now() });
    sender.push({
      type: 'stderr',
      data: `\n[output limit of ${STREAM_OUTPUT_LIMIT_BYTES} bytes reached; the run was stopped]\n`,
      timestamp: now(),
    });
    process.kill('SIGKILL');
  };
  process.stdout?.on('data', forward('stdout'));
  process.stderr?.on('data', forward('stderr'));
  let timedOut = false;
  const timer = setLongTimeout(() => {
    timedOut = true;
    process.kill('SIGKILL');
  }, timeoutSeconds * 1000);
  const exitCode = await new Promise<number>((resolve) => {
    process.once('error', () => resolve(127));
    process.once('close', (code, signal) => resolve(code ?? (signal ? 137 : 1)));
  });
  timer.clear();
  if (timedOut) {
    throw new HopxHttpError(
      408,
      'EXECUTION_TIMEOUT',
      `Execution timed out after ${timeoutSeconds} seconds; the process was killed.`,
    );
  }
  sender.push({
    type: 'result',
    exit_code: exitCode,
    execution_time: (performance.now() - startedAt) / 1000,
    timestamp: now(),
  });
  return exitCode === 0;
}
