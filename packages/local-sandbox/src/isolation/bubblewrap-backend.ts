import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import {
  FileDescriptorLimitError,
  InvalidServerOptionError,
  LocalSandboxError,
  SandboxCreateError,
  SandboxDestroyedError,
} from '../errors.js';
import { resolveBaseDirectory } from './base-directory.js';
import {
  bubblewrapSandboxArguments,
  bubblewrapSpawnArguments,
  SANDBOX_CGROUP_PATH,
} from './bubblewrap-arguments.js';
import { delegatedCgroupLayout, delegationCommand, serverCgroupUser } from './cgroup-delegation.js';
import {
  CgroupFactory,
  detectCgroupLayout,
  missingCgroupFeatures,
  type SandboxCgroup,
  slowCgroupJoinWarning,
} from './cgroups.js';
import { ForkServers } from './fork-servers.js';
import { startForkedProcessServer } from './forked-process-server.js';
import { HolderLauncher, type LaunchedHolder } from './holder-launcher.js';
import {
  findHostTools,
  type HostTools,
  limitsUnavailableError,
  runToCompletion,
  unlimitedWarning,
  userNamespaceError,
} from './preflight.js';
import type { ProcessServerChannel, ProcessServerStartOptions } from './process-server-channel.js';
import { SandboxDirectories, unmountLazily } from './sandbox-directories.js';
import {
  assertValidSandboxId,
  buildSandboxEnvironment,
  defaultSandboxEnvironment,
  SANDBOX_WORKSPACE_PATH,
} from './sandbox-environment.js';
import { buildSeccompFilter } from './seccomp-filter.js';
import { reclaimDeadServers, uidLeaseDirectory } from './server-registry.js';
import { throwIfFewFileDescriptors, throwIfOutOfFileDescriptors } from './spawn-failure.js';
import type {
  ForkServerTemplate,
  IsolatedSandbox,
  IsolatedSandboxOptions,
  IsolationBackend,
  SandboxLimits,
  SandboxSpawnOptions,
} from './types.js';
import { UidLeases } from './uid-leases.js';
import { WorkspaceNamespace } from './workspace-namespace.js';

/** Options of the bubblewrap backend. */
export interface BubblewrapBackendOptions {
  /**
   * Host directory under which the backend keeps workspaces and its runtime copy; every directory above it
   * must be searchable by other users. @default `os.tmpdir()`, or `/tmp` when TMPDIR is private (0700)
   */
  baseDirectory?: string;
  /** Absolute path of bwrap. @default the first of /usr/bin/bwrap, /bin/bwrap, /usr/local/bin/bwrap */
  bwrapPath?: string;
  /**
   * First host uid (and gid) of sandboxes when the server runs as root. Every live sandbox gets a
   * random free uid in `[hostUidBase, hostUidBase + hostUidCount)`, leased through files in
   * `/run/hopgen-sandbox/uid-leases`, so no two sandboxes on the host (whichever server made
   * them) share a uid, and none shares one with a real user. Inside, the uid is always 1000.
   * @default 1_900_000_000
   */
  hostUidBase?: number;
  /** Size of the uid range; keep it far above the number of live sandboxes. @default 65_536 */
  hostUidCount?: number;
  /**
   * Number of sandbox cgroups and mounted workspaces prepared ahead of time, so mkdir and mount stay
   * off the create path. Only infrastructure is prepared; no sandboxed process runs before `create`.
   * @default 2
   */
  poolSize?: number;
  /**
   * When the host cannot enforce limits (the server is not root, or cgroups are not writable), run
   * sandboxes without memory, pids, CPU and disk limits and print a loud warning, instead of failing
   * `preflight()`. Namespaces and seccomp still apply.
   * @default true when the environment variable `HOPGEN_ALLOW_UNLIMITED_SANDBOXES` is `1`, else false
   */
  allowUnlimited?: boolean;
  /** Receives the backend's warnings. @default console.warn */
  warn?: (message: string) => void;
}

/**
 * Script run by bash before bwrap: no core dumps (the hard limit too, so sandboxed code cannot raise it),
 * close every inherited fd above the ones the caller passed (Node does not close fds it inherited from
 * whoever started the server, and bwrap passes them on), join the sandbox's cgroups, then exec the rest.
 * bash rather than sh because dash cannot close fds above 9.
 */
const LAUNCH_SCRIPT = [
  'ulimit -c 0 || exit 125',
  'keep=$1; shift',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template.
  'for fd in /proc/self/fd/*; do fd=${fd##*/}; if [ "$fd" -gt "$keep" ]; then exec {fd}>&-; fi; done',
  'n=$1; shift',
  'while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done',
  'exec "$@"',
].join('\n');

/** Sizes of the first pooled workspaces: the documented defaults of {@link SandboxLimits}. Later ones follow use. */
const POOLED_SIZES = { workspaceBytes: 1024 * 1024 * 1024, tmpBytes: 256 * 1024 * 1024 };

/** What preflight found; decides how sandboxes are launched. */
interface HostSetup {
  tools: HostTools;
  directories: SandboxDirectories;
  seccompFile: string;
  /** Host uids of sandboxes; null when the server is not root (sandboxes then run as its own uid). */
  uidLeases: UidLeases | null;
  cgroups: CgroupFactory | null;
  /** Whether workspaces are size-capped tmpfs mounts on the host (root). */
  cappedWorkspaces: boolean;
  /**
   * Whether workspaces are size-capped tmpfs mounts inside a namespace of each sandbox's own
   * (rootless: see `workspace-namespace.ts`).
   */
  namespacedWorkspaces: boolean;
  /** Rootless: the namespace every sandbox's workspace namespace is made below (see `useSharedCopy`). */
  sharedNamespace: WorkspaceNamespace | null;
  /** The templates' fork servers, once {@link BubblewrapBackend.startForkServers} ran. */
  forkServers: ForkServers | null;
  /** Starts the holders of forked sandboxes. */
  holderLauncher: HolderLauncher;
  /** Receives the backend's warnings. */
  warn: (message: string) => void;
}

/**
 * Sandboxes as bubblewrap containers on the local kernel. See `index.ts` for the isolation model.
 * Each `spawn` is one bwrap invocation; everything a sandbox keeps between spawns lives in its cgroup
 * (processes, limits) and its host directories (`/workspace`, `/tmp`).
 */
export class BubblewrapBackend implements IsolationBackend {
  readonly name = 'bubblewrap' as const;
  readonly #options: BubblewrapBackendOptions;
  readonly #sandboxes = new Map<string, BubblewrapSandbox>();
  /** Ids of live sandboxes and of sandboxes being created, reserved before the first await. */
  readonly #reservedIds = new Set<string>();
  #setup: Promise<HostSetup> | undefined;
  #closed = false;
  /**
   * Releases of failed creates that failed themselves (out of file descriptors, an unmount cannot
   * even start): retried before each create and after each destroy, once descriptors are free again.
   */
  readonly #unreleased: (() => Promise<void>)[] = [];

  constructor(options: BubblewrapBackendOptions = {}) {
    const { hostUidBase = 1_900_000_000, hostUidCount = 65_536, poolSize = 2 } = options;
    if (!Number.isInteger(hostUidBase) || hostUidBase < 1000 || hostUidBase + hostUidCount > 4_294_967_294) {
      throw new InvalidServerOptionError(
        'hostUidBase must be an integer uid >= 1000 leaving room for hostUidCount uids.',
      );
    }
    if (!Number.isInteger(poolSize) || poolSize < 0) {
      throw new InvalidServerOptionError('poolSize must be a non-negative integer.');
    }
    const allowUnlimited = options.allowUnlimited ?? process.env.HOPGEN_ALLOW_UNLIMITED_SANDBOXES === '1';
    this.#options = { ...options, hostUidBase, hostUidCount, poolSize, allowUnlimited };
  }

  /** Checks the host once (later calls return the same result) and prepares shared state. */
  async preflight(): Promise<void> {
    this.#setup ??= this.#prepare();
    try {
      await this.#setup;
    } catch (error) {
      this.#setup = undefined;
      throw error;
    }
  }

  async create(options: IsolatedSandboxOptions): Promise<IsolatedSandbox> {
    if (this.#closed) throw new LocalSandboxError('The bubblewrap backend is closed; create a new backend.');
    assertValidSandboxId(options.id);
    assertValidLimits(options.limits);
    for (const bind of options.readOnlyBinds ?? []) {
      if (!path.isAbsolute(bind) || path.normalize(bind) !== bind || bind === '/') {
        throw new InvalidServerOptionError(
          `readOnlyBinds entry ${JSON.stringify(bind)} must be a normalized absolute path other than /.`,
        );
      }
    }
    if (this.#reservedIds.has(options.id))
      throw new SandboxCreateError(`Sandbox ${options.id} already exists.`);
    this.#reservedIds.add(options.id);
    await this.#retryUnreleased();
    let setup: HostSetup | undefined;
    let uid: number | null = null;
    let cgroup: SandboxCgroup | null = null;
    let directory: string | undefined;
    let namespace: WorkspaceNamespace | null = null;
    try {
      await this.preflight();
      setup = await this.#setup!;
      if (setup.uidLeases) uid = await setup.uidLeases.acquire();
      const owner = uid === null ? null : { uid, gid: uid };
      // Known before it exists: a createSandbox that fails half-way (a mount that cannot start) leaves it behind.
      directory = path.join(setup.directories.root, options.id);
      const [takenCgroup, directories] = await Promise.all([
        setup.cgroups?.take(options.limits) ?? null,
        setup.directories.createSandbox(options.id, {
          owner: setup.cappedWorkspaces ? owner : null,
          workspaceBytes: options.limits.workspaceBytes,
          tmpBytes: options.limits.tmpBytes,
          privateTmp: setup.namespacedWorkspaces,
        }),
      ]);
      cgroup = takenCgroup;
      directory = directories.directory;
      if (setup.namespacedWorkspaces) {
        namespace = await WorkspaceNamespace.create(
          setup.tools.python,
          [
            { target: directories.workspace, bytes: options.limits.workspaceBytes },
            { target: directories.tmp!, bytes: options.limits.tmpBytes },
          ],
          { join: setup.sharedNamespace ?? undefined },
        );
      }
      const delegatedCgroup = cgroup
        ? owner
          ? await cgroup.delegate(owner)
          : await cgroup.delegateToSharedUid()
        : null;
      if (owner && !setup.cappedWorkspaces) {
        await chown(directories.workspace, owner.uid, owner.gid);
      }
      const sandboxArguments = bubblewrapSandboxArguments({
        workspace: directories.workspace,
        tmp: directories.tmp,
        tmpBytes: options.limits.tmpBytes,
        runtime: setup.directories.runtimeDirectory,
        etc: setup.directories.etcDirectory,
        internetAccess: options.internetAccess,
        readOnlyBinds: options.readOnlyBinds ?? [],
        delegatedCgroup,
      });
      const sandbox = new BubblewrapSandbox({
        id: options.id,
        workspaceDir: directories.workspace,
        owner,
        runCgroupPath: delegatedCgroup ? SANDBOX_CGROUP_PATH : null,
        setup,
        cgroup,
        namespace,
        sandboxArguments,
        onDestroy: async () => {
          let leased = uid;
          await this.#releaseOrRetryLater(async () => {
            await setup!.directories.removeSandbox(directories.directory);
            // Only now: no process of this uid is left (killAll waited for the cgroup to empty).
            if (leased !== null) await setup!.uidLeases?.release(leased);
            leased = null;
          });
          this.#sandboxes.delete(options.id);
          this.#reservedIds.delete(options.id);
          await this.#retryUnreleased();
        },
      });
      // The mounts no longer open descriptors here (the mount helper does them), so this is where a
      // server out of descriptors learns it, before it answers with a sandbox that cannot start.
      throwIfFewFileDescriptors();
      this.#sandboxes.set(options.id, sandbox);
      return sandbox;
    } catch (error) {
      // Each step is tried even when another failed, and forgets what it released, so a retry does
      // only what is left; the uid lease goes last, once nothing on disk belongs to it any more.
      const release = async () => {
        const failures: unknown[] = [];
        const step = async (work: () => Promise<void>) => work().catch((failure) => failures.push(failure));
        await step(async () => {
          await namespace?.close();
          namespace = null;
        });
        await step(async () => {
          await cgroup?.remove();
          cgroup = null;
        });
        await step(async () => {
          if (directory) await setup?.directories.removeSandbox(directory);
          directory = undefined;
        });
        if (directory === undefined && uid !== null) {
          await setup?.uidLeases?.release(uid);
          uid = null;
        }
        if (failures.length > 0) throw failures[0];
      };
      await this.#releaseOrRetryLater(release);
      this.#reservedIds.delete(options.id);
      throw error instanceof LocalSandboxError
        ? error
        : new SandboxCreateError(`Could not create sandbox ${options.id}: ${(error as Error).message}`, {
            cause: error,
          });
    }
  }

  async #releaseOrRetryLater(release: () => Promise<void>): Promise<void> {
    try {
      await release();
    } catch {
      this.#unreleased.push(release);
    }
  }

  async #retryUnreleased(): Promise<void> {
    for (const release of this.#unreleased.splice(0)) await this.#releaseOrRetryLater(release);
  }

  /**
   * Starts a fork server per template (in the background): a Python with the template's modules
   * imported, from which each sandbox's process server is forked into the sandbox's namespaces.
   * `log` says, per template, whether its sandboxes start by fork or by their own interpreter.
   */
  async startForkServers(templates: ForkServerTemplate[], log: (message: string) => void): Promise<void> {
    await this.preflight();
    const setup = await this.#setup!;
    if (setup.forkServers) return;
    setup.forkServers = new ForkServers({
      root: setup.directories.root,
      seccompFile: setup.seccompFile,
      runtimeDirectory: setup.directories.hostRuntimeDirectory,
      environment: defaultSandboxEnvironment({ home: SANDBOX_WORKSPACE_PATH, tmp: '/tmp' }),
      log,
    });
    setup.forkServers.start(templates);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#retryUnreleased();
    await Promise.all([...this.#sandboxes.values()].map((sandbox) => sandbox.destroy()));
    const setup = await this.#setup?.catch(() => undefined);
    this.#setup = undefined;
    if (!setup) return;
    await setup.forkServers?.close();
    setup.holderLauncher.close();
    await setup.cgroups?.close();
    await setup.sharedNamespace?.close();
    await setup.directories.remove();
  }

  async #prepare(): Promise<HostSetup> {
    const warn = this.#options.warn ?? console.warn;
    const isRoot = process.getuid?.() === 0;
    const tools = await findHostTools({ bwrapPath: this.#options.bwrapPath, isRoot });
    await mkdir(this.#options.baseDirectory ?? tmpdir(), { recursive: true });
    const baseDirectory = await resolveBaseDirectory(this.#options.baseDirectory);
    // What servers killed without a close() left, wherever their base directory was.
    await reclaimDeadServers({
      unmount: tools.mount ? (mountPoint) => unmountLazily(tools.mount!, mountPoint) : undefined,
    });
    const directories = await SandboxDirectories.create(baseDirectory, tools.mount, {
      size: this.#options.poolSize!,
      ...POOLED_SIZES,
    });
    try {
      const seccompFile = path.join(directories.root, '.seccomp.bpf');
      await writeFile(seccompFile, buildSeccompFilter(), { mode: 0o600 });
      const uidLeases = isRoot
        ? new UidLeases({
            directory: uidLeaseDirectory(),
            base: this.#options.hostUidBase!,
            count: this.#options.hostUidCount!,
          })
        : null;
      await uidLeases?.open();
      const trialUid = (await uidLeases?.acquire()) ?? null;
      try {
        await this.#trialRun(tools, seccompFile, trialUid);
      } finally {
        if (trialUid !== null) await uidLeases?.release(trialUid);
      }

      let problem: string | null = null;
      // Without root, the way to limits is a delegated cgroup subtree: the command that makes one.
      let delegation: string | undefined;
      let cgroups: CgroupFactory | null = null;
      let cappedWorkspaces = false;
      let namespacedWorkspaces = false;
      let sharedNamespace: WorkspaceNamespace | null = null;
      const hostLayout = await detectCgroupLayout();
      const layout =
        isRoot || !hostLayout ? hostLayout : await delegatedCgroupLayout(hostLayout, serverCgroupUser());
      const missing = missingCgroupFeatures(layout);
      if (missing.length > 0) {
        problem = isRoot
          ? `cgroups are incomplete: ${missing.join(', ')}`
          : `the server does not run as root and no cgroup is delegated to its user (${missing.join(', ')})`;
      } else {
        const factory = new CgroupFactory(layout!, {
          poolSize: this.#options.poolSize!,
          instanceName: `hopgen-${process.pid}-${randomBytes(4).toString('hex')}`,
        });
        try {
          await factory.start();
          cgroups = factory;
        } catch (error) {
          await factory.close().catch(() => undefined);
          problem = `cgroups are not writable (${(error as Error).message})`;
        }
      }
      if (problem && !isRoot) {
        const user = currentUser();
        delegation = `To delegate cgroups to ${user.name}, ${delegationCommand(hostLayout, user)}.`;
      }
      if (isRoot) {
        try {
          await directories.checkMounting();
          cappedWorkspaces = true;
          await directories.useSharedCopy();
          directories.startPool();
        } catch (error) {
          problem ??= `tmpfs workspaces cannot be mounted (${(error as Error).message})`;
        }
      } else {
        // Workspaces are mounted in a namespace of each sandbox's own, made below this one.
        const shared = directories.sharedCopy;
        try {
          sharedNamespace = await WorkspaceNamespace.create(
            tools.python,
            [{ target: shared.target, bytes: shared.bytes }],
            { copies: shared.copies },
          );
          namespacedWorkspaces = true;
        } catch (error) {
          problem ??= (error as Error).message;
        }
      }
      if (sharedNamespace && !problem) await directories.useSharedCopy(true);
      else await sharedNamespace?.close();
      if (!problem && isRoot) {
        const slowJoins = slowCgroupJoinWarning(await readFile('/proc/self/mounts', 'utf8').catch(() => ''));
        if (slowJoins) warn(slowJoins);
      }
      if (problem) {
        await cgroups?.close();
        if (!this.#options.allowUnlimited) throw limitsUnavailableError(problem, delegation);
        warn(unlimitedWarning(problem, delegation));
      }
      return {
        tools,
        directories,
        seccompFile,
        uidLeases,
        cgroups: problem ? null : cgroups,
        cappedWorkspaces: !problem && cappedWorkspaces,
        namespacedWorkspaces: !problem && namespacedWorkspaces,
        sharedNamespace: problem ? null : sharedNamespace,
        forkServers: null,
        holderLauncher: new HolderLauncher(tools.python),
        warn,
      };
    } catch (error) {
      await directories.remove().catch(() => undefined);
      throw error;
    }
  }

  /** Starts `/usr/bin/true` in a minimal sandbox with the seccomp filter, as the sandbox uid. */
  async #trialRun(tools: HostTools, seccompFile: string, uid: number | null): Promise<void> {
    const bwrapArguments = [
      '--unshare-all',
      '--unshare-user',
      '--disable-userns',
      '--die-with-parent',
      '--ro-bind',
      '/usr',
      '/usr',
      '--symlink',
      'usr/lib64',
      '/lib64',
      '--symlink',
      'usr/lib',
      '/lib',
      '--seccomp',
      '3',
      '/usr/bin/true',
    ];
    const launcher = launcherCommand(tools, { uid, highestFd: 3, procsFiles: [] }, bwrapArguments);
    const seccompFd = openSync(seccompFile, 'r');
    try {
      const result = await runToCompletion(launcher[0]!, launcher.slice(1), {
        stdio: ['ignore', 'ignore', 'pipe', seccompFd],
      });
      if (result.code !== 0) throw userNamespaceError(result.stderr);
    } finally {
      closeSync(seccompFd);
    }
  }
}

/** The host-side command line: sh (rlimits, cgroup join), setpriv (drop root), bwrap. */
function launcherCommand(
  tools: HostTools,
  options: { uid: number | null; highestFd: number; procsFiles: string[]; enter?: string[] },
  bwrapArguments: string[],
): string[] {
  const { uid, highestFd, procsFiles, enter = [] } = options;
  const command = [
    tools.bash,
    // Node's stdio pipes are sockets, and bash sources ~/.bashrc when stdin is a socket unless --norc.
    '--norc',
    '-c',
    LAUNCH_SCRIPT,
    'hopgen-launch',
    String(highestFd),
    String(procsFiles.length),
    ...procsFiles,
  ];
  if (tools.setpriv && uid !== null) {
    // bwrap run as root keeps root's capabilities over bound host files; never let it. A uid change
    // keeps the inheritable set, so a server started with inheritable capabilities would hand them to
    // the outer bwrap: emptied here, as the holder launcher does (bwrap empties them inside anyway).
    command.push(
      tools.setpriv,
      `--reuid=${uid}`,
      `--regid=${uid}`,
      '--clear-groups',
      '--inh-caps=-all',
      '--no-new-privs',
      '--',
    );
  }
  command.push(...enter, tools.bwrap, ...bwrapArguments);
  return command;
}

/** The server's user, for messages that name the command to run. */
function currentUser(): { uid: number; name: string } {
  const uid = process.getuid?.() ?? -1;
  try {
    return { uid, name: userInfo().username };
  } catch {
    return { uid, name: String(uid) };
  }
}

function assertValidLimits(limits: SandboxLimits): void {
  for (const [name, minimum] of [
    ['memoryBytes', 16 << 20],
    ['pids', 8],
    ['cpus', 0.01],
    ['tmpBytes', 1 << 20],
    ['workspaceBytes', 1 << 20],
  ] as const) {
    const value = limits[name];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < minimum) {
      throw new InvalidServerOptionError(
        `limits.${name} must be a finite number >= ${minimum} (got ${value}).`,
      );
    }
  }
}

function normalizeStdio(stdio: StdioOptions | undefined): Exclude<StdioOptions, string> {
  if (stdio === undefined || typeof stdio === 'string') {
    const each = stdio ?? 'pipe';
    return [each, each, each];
  }
  const entries = [...stdio];
  while (entries.length < 3) entries.push(undefined);
  return entries;
}

class BubblewrapSandbox implements IsolatedSandbox {
  readonly id: string;
  readonly workspaceDir: string;
  readonly owner: { uid: number; gid: number } | null;
  readonly runCgroupPath: string | null;
  readonly workspaceNamespacePid: number | null;
  readonly #setup: HostSetup;
  readonly #cgroup: SandboxCgroup | null;
  readonly #namespace: WorkspaceNamespace | null;
  readonly #sandboxArguments: string[];
  readonly #onDestroy: () => Promise<void>;
  readonly #children = new Set<ChildProcess>();
  readonly #holders = new Set<LaunchedHolder>();
  #terminating: Promise<void> | undefined;
  #destroying: Promise<void> | undefined;

  constructor(options: {
    id: string;
    workspaceDir: string;
    owner: { uid: number; gid: number } | null;
    runCgroupPath: string | null;
    setup: HostSetup;
    cgroup: SandboxCgroup | null;
    namespace: WorkspaceNamespace | null;
    sandboxArguments: string[];
    onDestroy: () => Promise<void>;
  }) {
    this.id = options.id;
    this.workspaceDir = options.workspaceDir;
    this.owner = options.owner;
    this.runCgroupPath = options.runCgroupPath;
    this.#setup = options.setup;
    this.#cgroup = options.cgroup;
    this.#namespace = options.namespace;
    this.workspaceNamespacePid = options.namespace?.pid ?? null;
    this.#sandboxArguments = options.sandboxArguments;
    this.#onDestroy = options.onDestroy;
  }

  spawn(command: string, args: string[], options: SandboxSpawnOptions = {}): ChildProcess {
    if (this.#terminating) throw new SandboxDestroyedError(this.id);
    const environment = buildSandboxEnvironment(
      defaultSandboxEnvironment({ home: SANDBOX_WORKSPACE_PATH, tmp: '/tmp' }),
      options.env,
    );
    const stdio = normalizeStdio(options.stdio);
    // The filter and bwrap's arguments go in on the first fds after the caller's, so the caller's fd
    // numbering is kept.
    const seccompFd = stdio.length;
    const argumentsFd = seccompFd + 1;
    const bwrapOptions = [
      ...this.#sandboxArguments,
      ...bubblewrapSpawnArguments({ cwd: options.cwd ?? SANDBOX_WORKSPACE_PATH, environment, seccompFd }),
    ];
    const launcher = launcherCommand(
      this.#setup.tools,
      {
        uid: this.owner?.uid ?? null,
        highestFd: argumentsFd,
        procsFiles: this.#cgroup?.procsFiles ?? [],
        enter: this.#namespace?.enterCommand(this.#setup.tools.nsenter!) ?? [],
      },
      // Options through a pipe, not the command line: bwrap stays pid 1 of the sandbox, and its
      // command line, which any process inside (and any local user's `ps`) reads, would show host
      // paths and the run's environment. bwrap wants the command itself on the command line.
      ['--args', String(argumentsFd), '--', command, ...args],
    );
    // A fresh open per spawn: bwrap reads the filter to EOF, and a shared fd would share the offset.
    const filterFd = openSync(this.#setup.seccompFile, 'r');
    let child: ChildProcess;
    try {
      child = spawn(launcher[0]!, launcher.slice(1), {
        cwd: '/',
        env: {},
        stdio: [...stdio, filterFd, 'pipe'],
      });
    } finally {
      closeSync(filterFd);
    }
    throwIfOutOfFileDescriptors(child);
    const argumentsPipe = child.stdio[argumentsFd] as NodeJS.WritableStream | null;
    // A launcher that dies early closes the pipe; its exit is what the caller sees.
    (argumentsPipe as unknown as NodeJS.EventEmitter | null)?.on('error', () => undefined);
    argumentsPipe?.end(`${bwrapOptions.join('\0')}\0`);
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    child.once('error', () => this.#children.delete(child));
    return child;
  }

  /**
   * Starts `command` as {@link spawn} would with stdio `['ignore', 'pipe', 'ignore']`, through the
   * holder launcher instead of a bash and setpriv chain of the server's own (see `holder-launcher.ts`).
   */
  #launchHolder(command: string, args: string[]): LaunchedHolder {
    if (this.#terminating) throw new SandboxDestroyedError(this.id);
    const environment = defaultSandboxEnvironment({ home: SANDBOX_WORKSPACE_PATH, tmp: '/tmp' });
    const tools = this.#setup.tools;
    const bwrapOptions = [
      ...this.#sandboxArguments,
      ...bubblewrapSpawnArguments({ cwd: SANDBOX_WORKSPACE_PATH, environment, seccompFd: 3 }),
    ];
    const holder = this.#setup.holderLauncher.launch({
      argv: [
        ...(this.#namespace?.enterCommand(tools.nsenter!) ?? []),
        tools.bwrap,
        '--args',
        '4',
        '--',
        command,
        ...args,
      ],
      procsFiles: this.#cgroup?.procsFiles ?? [],
      uid: this.owner?.uid ?? null,
      seccompFile: this.#setup.seccompFile,
      arguments: `${bwrapOptions.join('\0')}\0`,
    });
    this.#holders.add(holder);
    void holder.exited.then(() => this.#holders.delete(holder));
    return holder;
  }

  async startProcessServer(options: ProcessServerStartOptions): Promise<ProcessServerChannel | null> {
    if (this.#terminating) throw new SandboxDestroyedError(this.id);
    const forkServers = this.#setup.forkServers;
    const server = await forkServers?.get(options.forkServer);
    if (!forkServers || !server) return null;
    try {
      return await startForkedProcessServer(
        {
          launchHolder: (command, args) => this.#launchHolder(command, args),
          procsFiles: this.#cgroup?.procsFiles ?? [],
          uid: this.owner?.uid ?? null,
        },
        server,
        await forkServers.sockets(),
        options,
      );
    } catch (error) {
      // A server out of file descriptors fails the start instead: a spawned interpreter needs more of
      // them than the fork did, and would take the last ones the next request needs to be answered.
      if (this.#terminating || error instanceof FileDescriptorLimitError) throw error;
      throwIfFewFileDescriptors();
      this.#setup.warn(`${(error as Error).message} Sandbox ${this.id} starts its own interpreter.`);
      return null;
    }
  }

  async freeze(): Promise<void> {
    if (!this.#cgroup)
      throw new LocalSandboxError('Pausing a sandbox needs cgroups; this host runs sandboxes without them.');
    await this.#cgroup.freeze();
  }

  async thaw(): Promise<void> {
    if (!this.#cgroup)
      throw new LocalSandboxError('Resuming a sandbox needs cgroups; this host runs sandboxes without them.');
    await this.#cgroup.thaw();
  }

  async killAll(): Promise<void> {
    // The host-side bwrap of each spawn: killing it takes its whole pid namespace down (--die-with-parent).
    // This also covers a spawn whose launcher has not joined the cgroup yet.
    for (const child of this.#children) child.kill('SIGKILL');
    for (const holder of this.#holders) holder.kill();
    await this.#cgroup?.killAll();
    await Promise.all([...this.#holders].map((holder) => holder.exited));
    await Promise.all(
      [...this.#children].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) resolve();
            else child.once('exit', () => resolve());
          }),
      ),
    );
  }

  terminate(): Promise<void> {
    this.#terminating ??= this.killAll().catch(() => undefined);
    return this.#terminating;
  }

  destroy(): Promise<void> {
    this.#destroying ??= (async () => {
      await this.terminate();
      await this.#namespace?.close();
      await this.#cgroup?.remove();
      await this.#onDestroy();
    })();
    return this.#destroying;
  }

  async memoryUsageBytes(): Promise<number | null> {
    return this.#cgroup ? this.#cgroup.memoryUsageBytes() : null;
  }
}
