import type { ChildProcess } from 'node:child_process';
import type { WebSocket } from 'ws';
import { languageFor } from './execute-routes.js';
import { HopxHttpError } from './http-utilities.js';
import type { SandboxSession } from './sandbox-session.js';

/**
 * Gap between WebSocket frames. The SDK's client listens with one `once('message')` per frame and
 * drops frames that arrive in the same socket read, so frames must not be sent back to back.
 */
const FRAME_GAP_MS = 5;

type Frame = Record<string, unknown> & { type: string };

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
  socket.on('message', (data) => {
    if (started) return;
    started = true;
    void (async () => {
      let request: Record<string, unknown>;
      try {
        request = JSON.parse(data.toString()) as Record<string, unknown>;
        if (request.type !== 'execute' || typeof request.code !== 'string') {
          throw new HopxHttpError(400, 'INVALID_REQUEST', 'Expected {"type":"execute","code":...}.');
        }
        if (session.status === 'paused') {
          throw new HopxHttpError(409, 'SANDBOX_PAUSED', `Sandbox ${session.id} is paused; resume it first.`);
        }
      } catch (error) {
        const known =
          error instanceof HopxHttpError ? error : new HopxHttpError(400, 'INVALID_JSON', 'Invalid JSON.');
        sender.push({ type: 'error', error: known.message, code: known.code, timestamp: now() });
        await finish(false);
        return;
      }
      let runtime: ReturnType<typeof languageFor>;
      try {
        runtime = languageFor(session, typeof request.language === 'string' ? request.language : undefined);
      } catch (error) {
        const known = error as HopxHttpError;
        sender.push({ type: 'error', error: known.message, code: known.code, timestamp: now() });
        await finish(false);
        return;
      }
      const timeoutSeconds =
        typeof request.timeout === 'number' && request.timeout > 0 ? request.timeout : 60;
      const env = session.runEnvironment(
        request.env && typeof request.env === 'object' ? (request.env as Record<string, string>) : undefined,
      );
      const args =
        runtime.stdinArgs.length > 0
          ? runtime.stdinArgs
          : [
              '-c',
              `f=$(mktemp --suffix=${runtime.extension}); cat > "$f"; exec "$0" ${runtime.args.join(' ')} "$f"`,
              runtime.command,
            ];
      const command = runtime.stdinArgs.length > 0 ? runtime.command : '/usr/bin/bash';
      const startedAt = performance.now();
      session.metrics.executions++;
      const process = session.isolated.spawn(command, args, {
        cwd: session.workingDirectory(typeof request.workdir === 'string' ? request.workdir : undefined),
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      child = process;
      process.stdin?.on('error', () => {});
      process.stdin?.end(request.code);
      process.stdout?.setEncoding('utf8');
      process.stderr?.setEncoding('utf8');
      process.stdout?.on('data', (chunk: string) =>
        sender.push({ type: 'stdout', data: chunk, timestamp: now() }),
      );
      process.stderr?.on('data', (chunk: string) =>
        sender.push({ type: 'stderr', data: chunk, timestamp: now() }),
      );
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        process.kill('SIGKILL');
      }, timeoutSeconds * 1000);
      const exitCode = await new Promise<number>((resolve) => {
        process.once('error', () => resolve(127));
        process.once('close', (code, signal) => resolve(code ?? (signal ? 137 : 1)));
      });
      clearTimeout(timer);
      session.onDestroy.delete(stop);
      if (timedOut) {
        sender.push({
          type: 'error',
          error: `Execution timed out after ${timeoutSeconds} seconds; the process was killed.`,
          code: 'EXECUTION_TIMEOUT',
          timestamp: now(),
        });
        await finish(false);
        return;
      }
      sender.push({
        type: 'result',
        exit_code: exitCode,
        execution_time: (performance.now() - startedAt) / 1000,
        timestamp: now(),
      });
      await finish(exitCode === 0);
    })();
  });
}
