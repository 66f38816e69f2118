import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SandboxCreateError } from '../errors.js';
import { childReady, stderrTail } from './child-ready.js';
import { RUNTIME_DIRECTORY_URL } from './sandbox-environment.js';

const HOLDER_PATH = fileURLToPath(new URL('workspace-holder.py', RUNTIME_DIRECTORY_URL));

/**
 * The user and mount namespaces that hold a rootless sandbox's size-capped `/workspace` and `/tmp`
 * tmpfs mounts (see `runtime/workspace-holder.py`). The host sees only empty directories; every
 * spawn enters the namespaces (`nsenter`) before bwrap, and the file helper enters them too.
 */
export class WorkspaceNamespace {
  readonly #child: ChildProcess;

  private constructor(child: ChildProcess) {
    this.#child = child;
  }

  /** Host pid of the holder process, whose `/proc/<pid>/ns/{user,mnt}` are the namespaces. */
  get pid(): number {
    return this.#child.pid!;
  }

  /**
   * Starts a holder that mounts a tmpfs of `bytes` on each host directory of `mounts` (empty
   * directories owned by the server's user). Resolves once the mounts exist.
   */
  static async create(
    python: string,
    mounts: { target: string; bytes: number }[],
    options: {
      /** Another holder whose namespaces this one's mount namespace is made below (the shared one). */
      join?: WorkspaceNamespace;
      /** Directory trees copied, after the mounts, from a host path to a path in the new namespace. */
      copies?: { source: string; destination: string }[];
    } = {},
  ): Promise<WorkspaceNamespace> {
    const child = spawn(
      python,
      [
        '-I',
        '-S',
        HOLDER_PATH,
        ...(options.join ? ['--join', String(options.join.pid)] : []),
        ...(options.copies ?? []).flatMap((copy) => ['--copy', copy.source, copy.destination]),
        ...mounts.flatMap((mount) => [mount.target, String(Math.floor(mount.bytes))]),
      ],
      { cwd: '/', env: {}, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const diagnostics = stderrTail(child, 2000);
    try {
      await childReady(
        child,
        (exit) =>
          new SandboxCreateError(
            `The workspace namespace could not be made (${exit}): ${diagnostics() || 'no output'}. ` +
              'Unprivileged user namespaces must be enabled (see the bwrap preflight error for the sysctl).',
          ),
      );
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    return new WorkspaceNamespace(child);
  }

  /** The command prefix that runs the rest of a command line inside the namespaces. */
  enterCommand(nsenter: string): string[] {
    // --preserve-credentials: the server's uid is the only one mapped; exec then drops the
    // namespace capabilities nsenter gained, so bwrap starts unprivileged as always.
    return [nsenter, '--user', '--mount', '--preserve-credentials', `--target=${this.pid}`, '--'];
  }

  /** Kills the holder: the namespaces and their tmpfs pages go with it once no spawn is left inside. */
  async close(): Promise<void> {
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}
