import type { ChildProcess, StdioOptions } from 'node:child_process';
import type { ProcessServerChannel, ProcessServerStartOptions } from './process-server-channel.js';

/**
 * The seam between the HopX protocol server (`src/server/*`) and the isolation backends
 * (`src/isolation/*`). The server never builds bwrap command lines or touches cgroups itself;
 * it asks an {@link IsolationBackend} for an {@link IsolatedSandbox} and spawns processes in it.
 *
 * Inside every sandbox: the host's `/usr` (and the usual `/bin`, `/lib` links) read-only, the
 * package's `runtime/` directory read-only at `/opt/hopgen`, a private writable `/workspace`,
 * a size-capped tmpfs `/tmp`, private `/proc` and `/dev`, uid and gid 1000 (never root).
 */

/** Resource limits of one sandbox. */
export interface SandboxLimits {
  /** Memory limit in bytes, for every process of the sandbox together (tmpfs pages included). @default 1 GiB */
  memoryBytes: number;
  /** Maximum number of processes and threads. @default 256 */
  pids: number;
  /** CPU quota in cores (0.5 = half a core). @default 1 */
  cpus: number;
  /** Size of the private `/tmp` tmpfs in bytes. @default 256 MiB */
  tmpBytes: number;
  /** Size cap of `/workspace` in bytes (enforced as a size-capped tmpfs or equivalent). @default 1 GiB */
  workspaceBytes: number;
}

/** Options for creating one isolated sandbox. */
export interface IsolatedSandboxOptions {
  /** Sandbox id, used for cgroup and directory names. */
  id: string;
  /** Limits to apply. */
  limits: SandboxLimits;
  /** Whether the sandbox may reach the network (shares the host's network namespace). */
  internetAccess: boolean;
  /**
   * Extra host paths bound read-only at the same path inside the sandbox, for an interpreter installed
   * outside `/usr` (e.g. a Go toolchain in `/usr/local/go` is already covered; `/opt/go` is not). @default []
   */
  readOnlyBinds?: string[];
}

/** Options for a process started inside a sandbox. */
export interface SandboxSpawnOptions {
  /** Working directory inside the sandbox. @default '/workspace' */
  cwd?: string;
  /** The complete environment of the process; nothing of the host's leaks in. */
  env?: Record<string, string>;
  /** Node stdio configuration; extra pipes (fd 3+) pass through to the sandboxed process. @default 'pipe' */
  stdio?: StdioOptions;
}

/** One sandbox on the local kernel. */
export interface IsolatedSandbox {
  readonly id: string;
  /**
   * Host directory mounted read-write at `/workspace` inside the sandbox (in rootless mode, inside the
   * namespaces of {@link workspaceNamespacePid}). Sandboxed code controls its
   * contents, including symlinks: resolve paths without following links out of it (`O_NOFOLLOW`,
   * `realpath` + prefix check) before the server reads or writes there.
   */
  readonly workspaceDir: string;
  /**
   * Host uid and gid that own the sandbox's files (they appear as 1000:1000 inside). Files the server
   * writes into {@link workspaceDir} should be chowned to them so sandboxed code can modify them.
   * `null` when the sandbox runs as the server's own user (the `none` backend, or no root).
   */
  readonly owner: { uid: number; gid: number } | null;
  /**
   * Host pid of the process whose user and mount namespaces hold the workspace (rootless mode: the
   * workspace is a tmpfs mounted there, and the host sees only an empty directory at
   * {@link workspaceDir}); enter both before using the path. null when {@link workspaceDir} is the
   * workspace itself on the host.
   */
  readonly workspaceNamespacePid: number | null;
  /**
   * Path inside the sandbox of a cgroup v2 directory delegated to the sandbox (`/sys/fs/cgroup`), or
   * null when the host cannot delegate one. A long-lived process in the sandbox (the zygote) uses it to
   * give each run its own sub-cgroup: `mkdir /sys/fs/cgroup/run-7`, the forked child writes `0` to
   * `run-7/cgroup.procs` before it runs user code, and when the run ends `1` to `run-7/cgroup.kill`
   * kills everything the run started, `setsid`/double-forked daemons included; then `rmdir run-7`.
   * At most 64 sub-cgroups, one level deep. Host-side limits and `killAll` still cover all of them.
   */
  readonly runCgroupPath: string | null;
  /**
   * Starts `command` inside the sandbox: own namespaces, seccomp, cgroup limits, an unprivileged
   * uid, a cleared environment. The returned child is the host-side handle (bwrap); killing it
   * kills the whole process tree started by this call.
   */
  spawn(command: string, args: string[], options?: SandboxSpawnOptions): ChildProcess;
  /**
   * Starts the sandbox's process server by forking it from the fork server `options.forkServer`
   * (see `fork-server.ts`): same namespaces, cgroups, seccomp and uid as a spawn. Resolves null
   * when this backend or template has no fork server; then the caller spawns one.
   */
  startProcessServer?(options: ProcessServerStartOptions): Promise<ProcessServerChannel | null>;
  /** Freezes every process of the sandbox (pause). */
  freeze(): Promise<void>;
  /** Thaws a frozen sandbox (resume). */
  thaw(): Promise<void>;
  /** Kills every process in the sandbox (all spawns) but keeps the sandbox usable. */
  killAll(): Promise<void>;
  /**
   * Kills every process for good: once this resolves nothing of the sandbox runs and `spawn` throws.
   * Its cgroups, workspace and uid stay until {@link destroy}. Idempotent.
   */
  terminate(): Promise<void>;
  /** Terminates, then removes cgroups, unmounts and deletes the workspace and frees the uid. Idempotent. */
  destroy(): Promise<void>;
  /** Current memory use of the sandbox's processes in bytes, or null when unknown. */
  memoryUsageBytes(): Promise<number | null>;
}

/** A template that gets a fork server. */
export interface ForkServerTemplate {
  /** The template's name. */
  name: string;
  /** Host path of python3. */
  python: string;
  /** Modules imported once and shared by every sandbox of the template. */
  preloadModules: string[];
}

/** A way of isolating sandboxes on this host. */
export interface IsolationBackend {
  /** `bubblewrap` (the default) or `none` (no isolation; development on macOS only). */
  readonly name: 'bubblewrap' | 'none';
  /** Throws an error that names the fix when the host lacks what the backend needs. */
  preflight(): Promise<void>;
  /** Creates a sandbox. */
  create(options: IsolatedSandboxOptions): Promise<IsolatedSandbox>;
  /** Destroys every sandbox this backend created. */
  close(): Promise<void>;
  /** Starts a fork server per template, where the backend has them; `log` says which path sandboxes take. */
  startForkServers?(templates: ForkServerTemplate[], log: (message: string) => void): Promise<void>;
}
