import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { childReady, stderrTail } from '../isolation/child-ready.js';
import { RUNTIME_DIRECTORY_URL } from '../isolation/sandbox-environment.js';
import { recordServerResource } from '../isolation/server-registry.js';
import { ConcurrencyLimit } from './concurrency-limit.js';

/** Which workspace a request works in and as whom. */
export interface FileHelperTarget {
  /** Host path of the workspace (a real path, no symlinks). */
  workspace: string;
  /** Whether to chroot into the workspace (false only for the unisolated `none` backend). */
  isolate: boolean;
  /** Host uid and gid the operation runs as, or null to keep the server's. */
  owner: { uid: number; gid: number } | null;
  /** Pid whose user and mount namespaces hold the workspace (rootless mode), or null. */
  namespacePid: number | null;
  /** Bounds this sandbox's file calls in flight, so one sandbox's burst cannot take every helper slot. */
  calls: ConcurrencyLimit;
}

/** The helper's answer: its JSON header and, for reads, the bytes after it. */
export interface FileHelperReply {
  header: Record<string, unknown>;
  /** The bytes after the header (empty when `stream` was asked for). */
  data: Buffer;
  /** With `stream`: the bytes after the header, as they arrive. */
  body?: Readable;
}

/** Most helper requests in flight for the whole server: well under the helper's listen backlog. */
export const MAX_CONCURRENT_FILE_CALLS = 64;
/** Most helper requests in flight for one sandbox. */
export const MAX_CONCURRENT_FILE_CALLS_PER_SANDBOX = 16;
/** Largest reply header read from the helper (a listing page stays far below it), in bytes. */
const MAX_REPLY_HEADER_BYTES = 16 * 1024 * 1024;
/** Connection attempts to the helper; a dead helper is restarted between them. */
const CONNECT_ATTEMPTS = 3;

const HELPER_PATH = fileURLToPath(new URL('file-helper.py', RUNTIME_DIRECTORY_URL));
/** An empty frame ends a write's body. */
const END_FRAME = Buffer.alloc(4);

function frameHeader(length: number): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(length);
  return header;
}

/**
 * Host side of `runtime/file-helper.py`: one long-lived helper per server that forks a child per
 * request, chrooted into the workspace as the sandbox's owner, so no path the server hands over can
 * be redirected to a host file by a symlink swapped in by sandboxed code.
 */
export class FileHelper {
  readonly #python: string;
  readonly #log: (message: string, kind: 'error') => void;
  #started: Promise<string> | undefined;
  #child: ChildProcess | undefined;
  #directory: string | undefined;
  #closed = false;
  readonly #slots = new ConcurrencyLimit(MAX_CONCURRENT_FILE_CALLS);

  constructor(options: { log: (message: string, kind: 'error') => void }) {
    this.#python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
    this.#log = options.log;
  }

  #start(): Promise<string> {
    this.#started ??= (async () => {
      if (this.#directory === undefined) {
        this.#directory = await mkdtemp(path.join(tmpdir(), 'hopgen-files-'));
        // Reclaimed by the next server if this one dies without close().
        await recordServerResource({ kind: 'directory', path: this.#directory });
      }
      const directory = this.#directory;
      const child = spawn(this.#python, ['-I', '-S', HELPER_PATH, directory], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' },
      });
      this.#child = child;
      const diagnostics = stderrTail(child, 4000);
      child.once('exit', (code, signal) => {
        if (this.#child === child) {
          this.#child = undefined;
          this.#started = undefined;
        }
        if (!this.#closed) this.#log(`file helper exited (${signal ?? code}): ${diagnostics()}`, 'error');
      });
      await childReady(
        child,
        (exit) => new Error(`The file helper exited before it was ready (${exit}): ${diagnostics()}`),
      );
      return path.join(directory, 'socket');
    })();
    this.#started.catch(() => {
      this.#started = undefined;
    });
    return this.#started;
  }

  /**
   * Sends one request. `body` (writes) is streamed in frames; the reply's bytes are refused beyond
   * `maxReplyBytes`, or, with `stream`, handed over as they arrive. Calls beyond the server's and the
   * sandbox's concurrency limits wait for a slot, held until the reply is consumed.
   */
  async request(
    target: FileHelperTarget,
    header: Record<string, unknown>,
    options: { body?: Buffer | AsyncIterable<Buffer>; maxReplyBytes?: number; stream?: boolean } = {},
  ): Promise<FileHelperReply> {
    if (this.#closed) throw new Error('The file helper is closed.');
    const releaseSandbox = await target.calls.acquire();
    const releaseServer = await this.#slots.acquire().catch((error: unknown) => {
      releaseSandbox();
      throw error;
    });
    const release = () => {
      releaseServer();
      releaseSandbox();
    };
    const line = JSON.stringify({
      ...header,
      workspace: target.workspace,
      isolate: target.isolate,
      uid: target.owner?.uid ?? null,
      gid: target.owner?.gid ?? null,
      namespace_pid: target.namespacePid,
    });
    try {
      let socket: Socket | undefined;
      for (let attempt = 1; socket === undefined; attempt++) {
        try {
          socket = await this.#connect(await this.#start());
        } catch (error) {
          if (attempt >= CONNECT_ATTEMPTS || this.#closed) throw error;
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ECONNREFUSED' || code === 'ENOENT') {
            // The helper died: a fresh one takes the next attempt.
            this.#child?.kill('SIGKILL');
            this.#started = undefined;
          } else {
            // A full backlog (EAGAIN) clears as the helper accepts: wait a little, never fail the call.
            await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
          }
        }
      }
      return await this.#exchange(socket, `${line}\n`, options, release);
    } catch (error) {
      release();
      throw error;
    }
  }

  #connect(socketPath: string): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(socketPath);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(socket);
      });
      socket.once('error', reject);
    });
  }

  /** Sends the request on a connected socket and reads the reply; `release` runs once it is closed. */
  #exchange(
    socket: Socket,
    line: string,
    options: { body?: Buffer | AsyncIterable<Buffer>; maxReplyBytes?: number; stream?: boolean },
    release: () => void,
  ): Promise<FileHelperReply> {
    const limit = options.stream
      ? MAX_REPLY_HEADER_BYTES
      : (options.maxReplyBytes ?? 0) + MAX_REPLY_HEADER_BYTES;
    return new Promise<FileHelperReply>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let received = 0;
      let closed = false;
      let body: PassThrough | undefined;
      socket.once('close', release);
      // The helper half-closes once it has answered; the rest of a body is then unwanted.
      socket.on('end', () => {
        closed = true;
      });
      socket.on('data', (chunk: Buffer) => {
        if (body) {
          // Backpressure: the helper waits while the client reads slowly.
          if (!body.write(chunk)) socket.pause();
          return;
        }
        received += chunk.length;
        if (received > limit) {
          socket.destroy();
          return;
        }
        chunks.push(chunk);
        if (!options.stream || chunk.indexOf(10) === -1) return;
        const all = Buffer.concat(chunks);
        const newline = all.indexOf(10);
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(all.subarray(0, newline).toString('utf8')) as Record<string, unknown>;
        } catch (error) {
          socket.destroy();
          reject(error);
          return;
        }
        const stream = new PassThrough();
        body = stream;
        stream.on('drain', () => socket.resume());
        // A reader that gives up (the client went away) ends the transfer.
        stream.on('close', () => socket.destroy());
        if (newline + 1 < all.length) stream.write(all.subarray(newline + 1));
        resolve({ header: parsed, data: Buffer.alloc(0), body: stream });
      });
      // A write the helper refused early makes our own writes fail; its reply still counts.
      socket.on('error', () => {});
      socket.on('close', () => {
        closed = true;
        if (body) {
          body.end();
          return;
        }
        const all = Buffer.concat(chunks);
        const newline = all.indexOf(10);
        if (newline === -1) {
          reject(new Error('The file helper gave no answer.'));
          return;
        }
        try {
          const parsed = JSON.parse(all.subarray(0, newline).toString('utf8')) as Record<string, unknown>;
          resolve({ header: parsed, data: all.subarray(newline + 1) });
        } catch (error) {
          reject(error);
        }
      });
      const write = (data: Buffer): Promise<void> => {
        if (closed || socket.destroyed) return Promise.resolve();
        if (socket.write(data)) return Promise.resolve();
        return new Promise((done) => {
          const finish = () => {
            socket.off('drain', finish);
            socket.off('close', finish);
            done();
          };
          socket.on('drain', finish);
          socket.on('close', finish);
        });
      };
      void (async () => {
        await write(Buffer.from(line));
        const requestBody = options.body;
        if (requestBody === undefined) {
          socket.end();
          return;
        }
        if (Buffer.isBuffer(requestBody)) {
          for (let offset = 0; offset < requestBody.length && !closed; offset += 1024 * 1024) {
            const chunk = requestBody.subarray(offset, offset + 1024 * 1024);
            await write(frameHeader(chunk.length));
            await write(chunk);
          }
        } else {
          for await (const chunk of requestBody) {
            if (closed) break;
            if (chunk.length === 0) continue;
            await write(frameHeader(chunk.length));
            await write(chunk);
          }
        }
        await write(END_FRAME);
        if (!closed) socket.end();
      })().catch(() => socket.destroy());
    });
  }

  /** Stops the helper and removes its directory. */
  async close(): Promise<void> {
    this.#closed = true;
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    if (this.#directory) await rm(this.#directory, { recursive: true, force: true });
  }
}
