import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SandboxDestroyedError } from '../errors.js';
import {
  assertValidSandboxId,
  buildSandboxEnvironment,
  defaultSandboxEnvironment,
  RUNTIME_DIRECTORY_URL,
  SANDBOX_RUNTIME_PATH,
  SANDBOX_WORKSPACE_PATH,
} from './sandbox-environment.js';
import { throwIfOutOfFileDescriptors } from './spawn-failure.js';
import type {
  IsolatedSandbox,
  IsolatedSandboxOptions,
  IsolationBackend,
  SandboxSpawnOptions,
} from './types.js';

/** Options of the `none` backend. */
export interface NoneBackendOptions {
  /** Host directory under which per-sandbox workspaces are created. @default `os.tmpdir()` */
  baseDirectory?: string;
  /** Receives the loud warnings this backend prints. @default console.warn */
  warn?: (message: string) => void;
}

const NO_ISOLATION_WARNING =
  '\n' +
  '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' +
  '!! @hopgen/local-sandbox: isolation backend "none" - sandboxed code runs UNISOLATED as the   !!\n' +
  '!! server user. It can read your files, reach the network and outlive its timeout. Use it   !!\n' +
  '!! only for development on macOS with code you trust. On Linux use the "bubblewrap" backend. !!\n' +
  '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n';

/**
 * No isolation at all: each sandbox is a temp directory and each spawn a plain child process in its
 * own process group, with a cleared environment. Sandbox paths in the command, the arguments and the
 * cwd (`/workspace/...`, `/opt/hopgen/...`) are rewritten to their host directories. Limits are not
 * enforced, and a process that calls `setsid` escapes `killAll`.
 */
export class NoneBackend implements IsolationBackend {
  readonly name = 'none' as const;
  readonly #options: NoneBackendOptions;
  readonly #sandboxes = new Set<NoneSandbox>();
  #rootDirectory: Promise<string> | undefined;

  constructor(options: NoneBackendOptions = {}) {
    this.#options = options;
  }

  async preflight(): Promise<void> {
    this.#warn();
  }

  async create(options: IsolatedSandboxOptions): Promise<IsolatedSandbox> {
    assertValidSandboxId(options.id);
    this.#warn();
    this.#rootDirectory ??= mkdtemp(
      path.join(this.#options.baseDirectory ?? tmpdir(), `hopgen-none-${process.pid}-`),
    );
    const sandboxDirectory = path.join(await this.#rootDirectory, options.id);
    const workspaceDir = path.join(sandboxDirectory, 'workspace');
    const temporaryDirectory = path.join(sandboxDirectory, 'tmp');
    await mkdir(workspaceDir, { recursive: true, mode: 0o700 });
    await mkdir(temporaryDirectory, { recursive: true, mode: 0o700 });
    const sandbox = new NoneSandbox(options.id, sandboxDirectory, workspaceDir, temporaryDirectory, () =>
      this.#sandboxes.delete(sandbox),
    );
    this.#sandboxes.add(sandbox);
    return sandbox;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#sandboxes].map((sandbox) => sandbox.destroy()));
    if (this.#rootDirectory) {
      await rm(await this.#rootDirectory, { recursive: true, force: true });
      this.#rootDirectory = undefined;
    }
  }

  #warn(): void {
    (this.#options.warn ?? console.warn)(NO_ISOLATION_WARNING);
  }
}

class NoneSandbox implements IsolatedSandbox {
  readonly owner = null;
  readonly workspaceNamespacePid = null;
  readonly runCgroupPath = null;
  readonly #sandboxDirectory: string;
  readonly #temporaryDirectory: string;
  readonly #onDestroy: () => void;
  readonly #processGroups = new Set<number>();
  #terminated = false;
  #destroyed = false;

  constructor(
    readonly id: string,
    sandboxDirectory: string,
    readonly workspaceDir: string,
    temporaryDirectory: string,
    onDestroy: () => void,
  ) {
    this.#sandboxDirectory = sandboxDirectory;
    this.#temporaryDirectory = temporaryDirectory;
    this.#onDestroy = onDestroy;
  }

  spawn(command: string, args: string[], options: SandboxSpawnOptions = {}): ChildProcess {
    if (this.#terminated) throw new SandboxDestroyedError(this.id);
    const environment = buildSandboxEnvironment(
      {
        ...defaultSandboxEnvironment({ home: this.workspaceDir, tmp: this.#temporaryDirectory }),
        TMPDIR: this.#temporaryDirectory,
      },
      options.env,
    );
    const child = spawn(this.#hostPath(command), args.map(this.#hostPath), {
      cwd: this.#hostPath(options.cwd ?? SANDBOX_WORKSPACE_PATH),
      env: environment,
      stdio: options.stdio ?? 'pipe',
      // A new session and process group, so killAll can signal the whole tree at once.
      detached: true,
    });
    throwIfOutOfFileDescriptors(child);
    const groupId = child.pid;
    if (groupId !== undefined) {
      this.#processGroups.add(groupId);
      child.once('exit', () => {
        // Orphans of the group may still run; keep the group until it is empty.
        if (!processGroupAlive(groupId)) this.#processGroups.delete(groupId);
      });
    }
    return child;
  }

  async freeze(): Promise<void> {
    this.#signalGroups('SIGSTOP');
  }

  async thaw(): Promise<void> {
    this.#signalGroups('SIGCONT');
  }

  async killAll(): Promise<void> {
    this.#signalGroups('SIGKILL');
    this.#signalGroups('SIGCONT');
    for (const groupId of this.#processGroups) {
      if (!processGroupAlive(groupId)) this.#processGroups.delete(groupId);
    }
  }

  async terminate(): Promise<void> {
    this.#terminated = true;
    await this.killAll();
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    await this.terminate();
    await rm(this.#sandboxDirectory, { recursive: true, force: true });
    this.#onDestroy();
  }

  async memoryUsageBytes(): Promise<number | null> {
    return null;
  }

  /** Maps `/workspace/...` and `/opt/hopgen/...` to the host directories that stand in for them. */
  readonly #hostPath = (value: string): string => {
    const runtimeDirectory = fileURLToPath(RUNTIME_DIRECTORY_URL);
    for (const [sandboxPath, hostPath] of [
      [SANDBOX_WORKSPACE_PATH, this.workspaceDir],
      [SANDBOX_RUNTIME_PATH, runtimeDirectory],
      ['/tmp', this.#temporaryDirectory],
    ] as const) {
      if (value === sandboxPath) return hostPath;
      if (value.startsWith(`${sandboxPath}/`))
        return path.join(hostPath, value.slice(sandboxPath.length + 1));
    }
    return value;
  };

  #signalGroups(signal: NodeJS.Signals): void {
    for (const groupId of this.#processGroups) {
      try {
        process.kill(-groupId, signal);
      } catch {
        this.#processGroups.delete(groupId);
      }
    }
  }
}

function processGroupAlive(groupId: number): boolean {
  try {
    process.kill(-groupId, 0);
    return true;
  } catch {
    return false;
  }
}
