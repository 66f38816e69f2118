import { randomBytes } from 'node:crypto';
import { chmod, mkdir } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';

/** Bytes of a token line: 32 hex digits and a newline. */
const TOKEN_LINE_BYTES = 33;
/** How long a connection may take to send its token, in milliseconds. */
const TOKEN_TIMEOUT_MS = 5000;

/**
 * The unix socket forked process servers connect back to (see `runtime/fork_server.py`): one
 * listening server in a 0700 directory; each connection first sends a one-time token that names
 * which pipe of which sandbox it is. Connections with any other first line are closed.
 */
export class ForkSockets {
  /** Host path of the socket. */
  readonly path: string;
  readonly #server: Server;
  readonly #waiting = new Map<string, (socket: Socket) => void>();

  private constructor(socketPath: string, server: Server) {
    this.path = socketPath;
    this.#server = server;
  }

  /** Listens on `directory/fork.sock` (the directory is made 0700). */
  static async listen(directory: string): Promise<ForkSockets> {
    await mkdir(directory, { recursive: true, mode: 0o700 });
    await chmod(directory, 0o700);
    const socketPath = path.join(directory, 'fork.sock');
    let sockets: ForkSockets | undefined;
    const server = createServer((socket) => sockets?.accept(socket));
    sockets = new ForkSockets(socketPath, server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.unref();
    return sockets;
  }

  /** Connections expected and not yet made: each will take a descriptor of the server's. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** A new token and the connection that will send it; `cancel` forgets the token. */
  expect(): { token: string; connection: Promise<Socket>; cancel: () => void } {
    const token = randomBytes(16).toString('hex');
    const connection = new Promise<Socket>((resolve) => this.#waiting.set(token, resolve));
    return { token, connection, cancel: () => this.#waiting.delete(token) };
  }

  /** Reads a new connection's token and hands it, paused, to whoever expects that token. */
  accept(socket: Socket): void {
    let head = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), TOKEN_TIMEOUT_MS);
    timer.unref();
    socket.on('error', () => undefined);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (head.length < TOKEN_LINE_BYTES) return;
      socket.off('data', onData);
      socket.pause();
      clearTimeout(timer);
      const token = head.subarray(0, TOKEN_LINE_BYTES - 1).toString('latin1');
      const resolve = head[TOKEN_LINE_BYTES - 1] === 0x0a ? this.#waiting.get(token) : undefined;
      if (!resolve) {
        socket.destroy();
        return;
      }
      this.#waiting.delete(token);
      const rest = head.subarray(TOKEN_LINE_BYTES);
      if (rest.length > 0) socket.unshift(rest);
      resolve(socket);
    };
    socket.on('data', onData);
  }

  /** Stops listening; connections already handed out stay open. */
  close(): Promise<void> {
    this.#waiting.clear();
    // Not awaited: the callback of `close` waits for every connection to end, and a connection
    // handed to a start that then failed (paused, never read) would hold the backend's close forever.
    this.#server.close();
    return Promise.resolve();
  }
}
