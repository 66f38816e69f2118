import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { ForkServerError } from '../errors.js';
import type { ZygoteConfig } from './process-server-channel.js';

/**
 * Python run with `-c` by the host: loads the runtime's modules from the host's copy `HOST` under
 * the paths a sandbox sees them at (`/opt/hopgen/...`), so no module, code object or traceback
 * inside a sandbox names a host path, then starts `runtime/fork_server.py`. `HOST` comes on stdin,
 * never on the command line (a sandbox reads its /proc/self/cmdline, which is this one).
 */
const BOOTSTRAP = `
import os, sys
from importlib.machinery import SourceFileLoader
from importlib.util import spec_from_file_location
HOST = sys.stdin.buffer.readline().decode().strip()
SANDBOX = "/opt/hopgen/"
def _host(path):
    return HOST + "/" + path[len(SANDBOX):] if path.startswith(SANDBOX) else path
class RuntimeLoader(SourceFileLoader):
    def get_data(self, path):
        return super().get_data(_host(path))
    def path_stats(self, path):
        return super().path_stats(_host(path))
    def set_data(self, path, data, *, _mode=0o666):
        pass
class RuntimeFinder:
    hopgen_runtime = True
    def find_spec(self, name, path=None, target=None):
        if "." in name or not os.path.isfile(_host(SANDBOX + name + ".py")):
            return None
        return spec_from_file_location(name, SANDBOX + name + ".py", loader=RuntimeLoader(name, SANDBOX + name + ".py"))
sys.path[:] = [entry for entry in sys.path if entry]
sys.meta_path.insert(0, RuntimeFinder())
import fork_server
fork_server.main()
`;

/** How to start one fork server. */
export interface ForkServerStartOptions {
  /** Name of the template it serves (for messages). */
  name: string;
  /** Host path of python3. */
  python: string;
  /** Host copy of the package's `runtime/` directory (bound at /opt/hopgen in sandboxes). */
  runtimeDirectory: string;
  /** Host path of the sandboxes' seccomp filter (BPF). */
  seccompFile: string;
  /** Host path of the socket forked process servers connect to. */
  socketPath: string;
  /** A private host directory for matplotlib's configuration and font cache. */
  configDirectory: string;
  /** Modules imported (and warmed up) once, shared by every sandbox. */
  preloadModules: string[];
  /** The environment it starts with: the sandboxes' defaults, nothing of the host's. */
  environment: Record<string, string>;
  /** Aborting kills it, also while it is still importing. */
  signal?: AbortSignal;
}

/** One fork request: what the forked zygote gets (its holder follows, see {@link ForkHandle.enter}). */
export interface ForkRequest {
  /** One-time tokens of the three connections (requests and replies, REPL, diagnostics). */
  tokens: [string, string, string];
  /** Host `cgroup.procs` files of the sandbox's cgroups. */
  procs: string[];
  /**
   * The sandbox's host uid, which must own the user namespace its holder's is nested in (checked as
   * root); null when sandboxes share the server's uid.
   * @default null
   */
  uid?: number | null;
  /** Working directory inside the sandbox. */
  cwd: string;
  /** The complete environment of the zygote. */
  env: Record<string, string>;
  /** The zygote's configuration. */
  config: ZygoteConfig;
}

/** A fork in progress. */
export interface ForkHandle {
  /** Resolves when the forked process server ends, or the fork failed. */
  exited: Promise<ForkExit>;
  /**
   * Resolves once the joiner passed its checks of the holder, joined the sandbox and cloned its
   * process server; never if the fork failed (then `exited` resolves).
   */
  entered: Promise<void>;
  /**
   * Names the process inside the sandbox whose namespaces the zygote joins (its host pid, and when it
   * started in clock ticks since boot, so a reused pid is refused), or null when the sandbox did
   * not start: the joiner then gives up.
   */
  enter(holder: { pid: number; start: number } | null): void;
}

/** How a forked process server ended: its exit code, and why it failed when it never connected. */
export interface ForkExit {
  code: number;
  error: string;
}

/** A running `runtime/fork_server.py`. */
export class ForkServer {
  /** The template it serves. */
  readonly name: string;
  /** Its host pid. */
  readonly pid: number;
  readonly #child: ChildProcess;
  readonly #exits = new Map<string, (exit: ForkExit) => void>();
  readonly #entries = new Map<string, () => void>();
  #nextId = 0;
  #exited = false;
  readonly #exitListeners: ((reason: string) => void)[] = [];

  private constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.#child = child;
    this.pid = child.pid!;
  }

  /** Starts a fork server and resolves once its modules are imported and it accepts forks. */
  static async start(options: ForkServerStartOptions): Promise<ForkServer> {
    await mkdir(options.configDirectory, { recursive: true, mode: 0o700 });
    const child = spawn(options.python, ['-S', '-c', BOOTSTRAP], {
      cwd: '/',
      // No host variable (tokens, keys) may reach a sandbox through the memory it inherits. One BLAS
      // thread: a process with threads must not fork and join namespaces.
      env: { ...options.environment, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const server = new ForkServer(options.name, child);
    const abort = () => child.kill('SIGKILL');
    options.signal?.addEventListener('abort', abort, { once: true });
    child.once('exit', () => options.signal?.removeEventListener('abort', abort));
    let diagnostics = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      diagnostics = (diagnostics + chunk.toString('utf8')).slice(-4000);
    });
    child.stdin!.on('error', () => undefined);
    const ready = new Promise<void>((resolve, reject) => {
      let started = false;
      // Only the fork server writes here (sandboxes get other fds), so its lines are trusted.
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let message: Record<string, unknown>;
        try {
          message = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return;
        }
        if (message.event === 'ready') {
          started = true;
          resolve();
        } else if (message.event === 'entered' && typeof message.id === 'string') {
          server.#entries.get(message.id)?.();
          server.#entries.delete(message.id);
        } else if (message.event === 'exited' && typeof message.id === 'string') {
          const resolveExit = server.#exits.get(message.id);
          server.#exits.delete(message.id);
          server.#entries.delete(message.id);
          resolveExit?.({
            code: typeof message.code === 'number' ? message.code : 1,
            error: typeof message.error === 'string' ? message.error : '',
          });
        }
      });
      child.once('error', (error) => reject(new ForkServerError(options.name, error.message)));
      child.once('exit', (code, signal) => {
        server.#exited = true;
        const reason = `exited (${signal ?? code})${diagnostics.trim() ? `: ${diagnostics.trim()}` : ''}`;
        if (!started) reject(new ForkServerError(options.name, reason));
        for (const resolveExit of server.#exits.values())
          resolveExit({ code: 1, error: `the fork server ${reason}` });
        server.#exits.clear();
        server.#entries.clear();
        for (const listener of server.#exitListeners) listener(reason);
      });
    });
    child.stdin!.write(`${options.runtimeDirectory}\n`);
    child.stdin!.write(
      `${JSON.stringify({
        seccomp: options.seccompFile,
        socket: options.socketPath,
        configDirectory: options.configDirectory,
        preload: options.preloadModules,
      })}\n`,
    );
    try {
      await ready;
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    return server;
  }

  /** Whether it still runs. */
  get running(): boolean {
    return !this.#exited;
  }

  /** Called once when it exits, with why. */
  onExit(listener: (reason: string) => void): void {
    if (this.#exited) listener('exited');
    else this.#exitListeners.push(listener);
  }

  /**
   * Forks a process server into a sandbox. Sent while the sandbox's holder is still starting: the
   * joining child joins the sandbox's cgroups and connects meanwhile, and waits for `enter`.
   */
  fork(request: ForkRequest): ForkHandle {
    if (this.#exited)
      return {
        exited: Promise.resolve({ code: 1, error: 'the fork server is not running' }),
        entered: new Promise<void>(() => undefined),
        enter: () => undefined,
      };
    const id = `f${++this.#nextId}`;
    const exited = new Promise<ForkExit>((resolve) => this.#exits.set(id, resolve));
    const entered = new Promise<void>((resolve) => this.#entries.set(id, resolve));
    this.#child.stdin!.write(`${JSON.stringify({ op: 'fork', id, ...request })}\n`);
    let sent = false;
    const enter = (holder: { pid: number; start: number } | null) => {
      if (sent || this.#exited) return;
      sent = true;
      this.#child.stdin!.write(
        `${JSON.stringify({ op: 'enter', id, holder: holder?.pid ?? null, holder_start: holder?.start ?? null })}\n`,
      );
    };
    return { exited, entered, enter };
  }

  /** Stops it; sandboxes forked from it keep running. */
  close(): Promise<void> {
    if (this.#exited) return Promise.resolve();
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.kill('SIGKILL');
    return exited;
  }
}
