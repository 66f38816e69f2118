import { execFile } from 'node:child_process';
import { chownSync, renameSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ETC_NETWORK_FILES } from './bubblewrap-arguments.js';
import { processAlive } from './cgroups.js';
import { MountHelper, MountHelperFailure } from './mount-helper.js';
import { RUNTIME_DIRECTORY_URL } from './sandbox-environment.js';
import { mountPointsBelow, recordServerResource } from './server-registry.js';

const run = promisify(execFile);

/** Size cap of the `.shared` tmpfs (the runtime and /etc copies take about 2 MiB). */
const SHARED_BYTES = 64 * 1024 * 1024;

/** Host `/etc` entries sandboxes see: what the dynamic linker, Python, matplotlib, fonts and node read. */
const ETC_SNAPSHOT = [
  'ld.so.cache',
  'alternatives',
  'localtime',
  'timezone',
  'fonts',
  'matplotlibrc',
  'mime.types',
  'nsswitch.conf',
  'protocols',
  'services',
  'os-release',
  'python3',
  'python3.11',
  'python3.12',
  'python3.13',
  'ssl/openssl.cnf',
  'ssl/certs',
  'ca-certificates',
  'ca-certificates.conf',
];

/**
 * Host directories of the bubblewrap backend. One root per backend instance,
 * `<base>/hopgen-sandboxes-<pid>-XXXXXX` (mode 0711, so the unprivileged bwrap can reach bind sources
 * without listing them), holding:
 * - `.runtime/`: a world-readable copy of the package's `runtime/`, bound at `/opt/hopgen` (the package
 *   may live under a directory the sandbox uid cannot traverse, such as `/root`);
 * - `.etc/`: a snapshot of the host `/etc` entries the dynamic linker, Python, matplotlib, fonts and
 *   node read (taken when the backend starts), plus a synthetic passwd, group and hosts, so uid 1000
 *   has a name, `sandbox` resolves, and nothing else of the host's /etc is visible;
 * - `<id>/workspace` and `<id>/tmp` for each sandbox. As root these are size-capped tmpfs mounts, owned
 *   by the sandbox's host uid with mode 0700: filling them ends in ENOSPC, and the pages are charged to the memory
 *   cgroup of whoever writes them. They live in the host mount namespace, so the server reads and writes
 *   `workspace/` directly and files persist across spawns; they disappear on unmount.
 */
export class SandboxDirectories {
  readonly #poolSize: number;
  /** Mounted, empty sandbox directories (`.pool-<n>`), waiting to be renamed to a sandbox id. */
  readonly #pool: { directory: string; workspaceBytes: number; tmpBytes: number }[] = [];
  #poolSizes: { workspaceBytes: number; tmpBytes: number } | undefined;
  #poolCounter = 0;
  #refilling: Promise<void> | undefined;
  #closed = false;
  /** Whether sandboxes bind the copies on the `.shared` tmpfs instead of `.runtime` and `.etc`. */
  #shared = false;
  /** Mounts and unmounts the sandboxes' tmpfs without a process per call (as root only). */
  readonly #mounts = new MountHelper('/usr/bin/python3');

  private constructor(
    /** The per-instance root. */
    readonly root: string,
    private readonly mountPath: string | null,
    poolSize: number,
  ) {
    this.#poolSize = poolSize;
  }

  /**
   * Creates the per-instance root and removes roots of servers that are gone. With `mountPath`, up to
   * `poolSize` mounted sandbox directories are kept ready (two mounts each, done by the mount helper, see `mount-helper.ts`),
   * sized like the last sandbox created.
   */
  static async create(
    baseDirectory: string,
    mountPath: string | null,
    pool: { size: number; workspaceBytes: number; tmpBytes: number } = {
      size: 0,
      workspaceBytes: 0,
      tmpBytes: 0,
    },
  ): Promise<SandboxDirectories> {
    await removeStaleRoots(baseDirectory, mountPath);
    const root = await mkdtemp(path.join(baseDirectory, `hopgen-sandboxes-${process.pid}-`));
    await recordServerResource({ kind: 'directory', path: root });
    await chmod(root, 0o711);
    const directories = new SandboxDirectories(root, mountPath, pool.size);
    await directories.#writeSharedFiles();
    await mkdir(directories.sharedCopy.target, { mode: 0o755 });
    directories.#poolSizes = { workspaceBytes: pool.workspaceBytes, tmpBytes: pool.tmpBytes };
    return directories;
  }

  /** Starts filling the pool (call once mounting is known to work). */
  startPool(): void {
    this.#refillSoon(0);
  }

  /** Host path bound read-only at `/opt/hopgen`. */
  get runtimeDirectory(): string {
    return path.join(this.root, this.#shared ? '.shared/runtime' : '.runtime');
  }

  /** The runtime's copy on the host itself (rootless, {@link runtimeDirectory} is in a namespace only). */
  get hostRuntimeDirectory(): string {
    return path.join(this.root, '.runtime');
  }

  /** Host path bound read-only at `/etc`. */
  get etcDirectory(): string {
    return path.join(this.root, this.#shared ? '.shared/etc' : '.etc');
  }

  /** Where the `.shared` tmpfs goes, and the copies to make on it. */
  get sharedCopy(): { target: string; bytes: number; copies: { source: string; destination: string }[] } {
    const target = path.join(this.root, '.shared');
    return {
      target,
      bytes: SHARED_BYTES,
      copies: [
        { source: path.join(this.root, '.runtime'), destination: path.join(target, 'runtime') },
        { source: path.join(this.root, '.etc'), destination: path.join(target, 'etc') },
      ],
    };
  }

  /**
   * Puts the files every sandbox binds read-only on a tmpfs of their own (as root, on the host;
   * rootless, the caller mounted it in the shared namespace and calls this with `mounted`): a bind
   * mount shows its path within its file system in the sandbox's /proc/self/mountinfo, and below
   * the base directory that path names the host's temporary directory and the server's pid.
   */
  async useSharedCopy(mounted = false): Promise<void> {
    const { target, bytes, copies } = this.sharedCopy;
    if (!mounted) {
      await this.#mountTmpfs(target, `size=${bytes},mode=0755`);
      for (const copy of copies) {
        await cp(copy.source, copy.destination, {
          recursive: true,
          verbatimSymlinks: true,
          preserveTimestamps: true,
        });
      }
    }
    this.#shared = true;
  }

  /** Mounts and unmounts a tiny tmpfs, to find out whether capped workspaces work here. */
  async checkMounting(): Promise<void> {
    const directory = path.join(this.root, '.mount-check');
    try {
      await this.#createMounted(
        directory,
        { uid: 0, gid: 0 },
        { workspaceBytes: 1 << 20, tmpBytes: 1 << 20 },
      );
    } finally {
      await this.removeSandbox(directory);
    }
  }

  /**
   * Creates `<id>/workspace` and `<id>/tmp`. With `owner` and mounting available they are tmpfs
   * mounts capped at the given sizes and owned by `owner`; otherwise plain directories (no cap, and
   * `tmp` is null).
   */
  async createSandbox(
    id: string,
    options: {
      owner: { uid: number; gid: number } | null;
      workspaceBytes: number;
      tmpBytes: number;
      /** Make an empty `tmp` too, for a rootless sandbox to mount its own tmpfs on. */
      privateTmp?: boolean;
    },
  ): Promise<{ directory: string; workspace: string; tmp: string | null }> {
    const directory = path.join(this.root, id);
    const workspace = path.join(directory, 'workspace');
    const tmp = path.join(directory, 'tmp');
    const { owner } = options;
    if (!owner || !this.mountPath) {
      await mkdir(directory, { mode: 0o711 });
      await mkdir(workspace, { mode: 0o700 });
      if (!options.privateTmp) return { directory, workspace, tmp: null };
      await mkdir(tmp, { mode: 0o700 });
      return { directory, workspace, tmp };
    }
    const sizes = {
      workspaceBytes: Math.floor(options.workspaceBytes),
      tmpBytes: Math.floor(options.tmpBytes),
    };
    if (
      this.#poolSizes?.workspaceBytes !== sizes.workspaceBytes ||
      this.#poolSizes.tmpBytes !== sizes.tmpBytes
    ) {
      this.#poolSizes = sizes;
    }
    const pooled = this.#pool.findIndex(
      (entry) => entry.workspaceBytes === sizes.workspaceBytes && entry.tmpBytes === sizes.tmpBytes,
    );
    if (pooled >= 0) {
      const [entry] = this.#pool.splice(pooled, 1);
      // Renaming a directory moves the mounts below it along. Synchronous, on the create path: three
      // system calls of microseconds, where each trip through libuv's thread pool (shared with every
      // other create of a burst) took up to milliseconds.
      renameSync(entry!.directory, directory);
      chownSync(workspace, owner.uid, owner.gid);
      chownSync(tmp, owner.uid, owner.gid);
    } else {
      await this.#createMounted(directory, owner, sizes);
    }
    this.#refillSoon();
    return { directory, workspace, tmp };
  }

  /**
   * Unmounts and deletes a sandbox's directories. Its two mounts are known, so they are unmounted by
   * name in one call to the mount helper: scanning the mount table for them cost time in proportion to the number
   * of sandboxes alive. Only when that fails is the table scanned for whatever is left below.
   */
  async removeSandbox(directory: string): Promise<void> {
    if (this.mountPath) {
      const mountPoints = [path.join(directory, 'workspace'), path.join(directory, 'tmp')];
      const unmounted = await this.#mounts
        .unmountLazily(...mountPoints)
        .catch((error: unknown) => {
          if (error instanceof MountHelperFailure) return unmountLazily(this.mountPath!, ...mountPoints);
          throw error;
        })
        .then(
          () => true,
          () => false,
        );
      if (!unmounted) await unmountBelow(directory, this.mountPath);
    }
    await rm(directory, { recursive: true, force: true });
  }

  /** Unmounts and deletes everything, the root and the pool included. */
  async remove(): Promise<void> {
    this.#closed = true;
    await this.#refilling;
    this.#pool.length = 0;
    this.#mounts.close();
    await unmountBelow(this.root, this.mountPath);
    await rm(this.root, { recursive: true, force: true });
  }

  async #createMounted(
    directory: string,
    owner: { uid: number; gid: number },
    sizes: { workspaceBytes: number; tmpBytes: number },
  ): Promise<void> {
    const workspace = path.join(directory, 'workspace');
    const tmp = path.join(directory, 'tmp');
    await mkdir(directory, { mode: 0o711 });
    await Promise.all([mkdir(workspace, { mode: 0o700 }), mkdir(tmp, { mode: 0o700 })]);
    const ownership = `uid=${owner.uid},gid=${owner.gid}`;
    await Promise.all([
      this.#mountTmpfs(workspace, `size=${sizes.workspaceBytes},mode=0700,${ownership}`),
      // Only the sandbox's uid lives in there, so no sticky world-writable mode: a local user who
      // learns the sandbox id cannot plant files in its /tmp.
      this.#mountTmpfs(tmp, `size=${sizes.tmpBytes},mode=0700,${ownership}`),
    ]);
  }

  /** Refills the pool in the background, after the sandbox just created has had the CPU for a while. */
  #refillSoon(delayMs = 100): void {
    if (this.#refilling || this.#closed || this.#poolSize === 0 || !this.mountPath) return;
    this.#refilling = (async () => {
      await delay(delayMs);
      while (!this.#closed && this.#poolSizes && this.#pool.length < this.#poolSize) {
        const sizes = this.#poolSizes;
        const directory = path.join(this.root, `.pool-${++this.#poolCounter}`);
        await this.#createMounted(directory, { uid: 0, gid: 0 }, sizes);
        if (this.#closed) return;
        this.#pool.push({ directory, ...sizes });
      }
      // Entries of sizes nobody asks for any more only hold mounts.
      for (const entry of this.#pool.filter(
        (candidate) =>
          candidate.workspaceBytes !== this.#poolSizes?.workspaceBytes ||
          candidate.tmpBytes !== this.#poolSizes?.tmpBytes,
      )) {
        this.#pool.splice(this.#pool.indexOf(entry), 1);
        await this.removeSandbox(entry.directory);
      }
    })()
      .catch(() => undefined)
      .finally(() => {
        this.#refilling = undefined;
      });
  }

  async #mountTmpfs(target: string, options: string): Promise<void> {
    try {
      await this.#mounts.mountTmpfs(target, options);
      return;
    } catch (error) {
      if (!(error instanceof MountHelperFailure)) throw error;
    }
    await run(this.mountPath!, ['-t', 'tmpfs', '-o', `nosuid,nodev,${options}`, 'hopgen-sandbox', target], {
      env: {},
    });
  }

  async #writeSharedFiles(): Promise<void> {
    await mkdir(this.runtimeDirectory, { mode: 0o755 });
    await cp(fileURLToPath(RUNTIME_DIRECTORY_URL), this.runtimeDirectory, { recursive: true }).catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      },
    );
    await compilePythonRuntime(this.runtimeDirectory);
    await makeWorldReadable(this.runtimeDirectory);
    await mkdir(this.etcDirectory, { mode: 0o755 });
    for (const name of ETC_SNAPSHOT) {
      await mkdir(path.dirname(path.join(this.etcDirectory, name)), { recursive: true, mode: 0o755 });
      await cp(path.join('/etc', name), path.join(this.etcDirectory, name), {
        recursive: true,
        verbatimSymlinks: true,
        preserveTimestamps: true,
      }).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
    const files: Record<string, string> = {
      // Placeholders that internet-enabled sandboxes bind the live host files over.
      ...Object.fromEntries(ETC_NETWORK_FILES.map((name) => [name, ''])),
      passwd:
        'root:x:0:0:root:/root:/usr/sbin/nologin\n' +
        'sandbox:x:1000:1000:sandbox:/workspace:/bin/bash\n' +
        'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
      group: 'root:x:0:\nsandbox:x:1000:\nnogroup:x:65534:\n',
      hosts: '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tsandbox\n',
    };
    for (const [name, contents] of Object.entries(files)) {
      await writeFile(path.join(this.etcDirectory, name), contents, { mode: 0o644 });
    }
  }
}

/**
 * Writes the runtime's bytecode next to the copy once, so that every sandbox start imports the
 * zygote, the REPL and the runner instead of compiling them (several milliseconds each; sandboxes
 * cannot write the read-only copy themselves). Best effort: a Python without a cache for this
 * version simply compiles as before.
 */
async function compilePythonRuntime(directory: string): Promise<void> {
  await run(
    '/usr/bin/python3',
    ['-I', '-c', 'import compileall, sys; compileall.compile_dir(sys.argv[1], quiet=2)', directory],
    { env: {} },
  ).catch(() => undefined);
}

async function makeWorldReadable(directory: string): Promise<void> {
  await chmod(directory, 0o755);
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const entryPath = path.join(directory, entry.name);
    if (entry.isDirectory()) await makeWorldReadable(entryPath);
    else if (entry.isFile()) {
      const executable = ((await stat(entryPath)).mode & 0o111) !== 0;
      await chmod(entryPath, executable ? 0o755 : 0o644);
    }
  }
}

/**
 * Unmounts mount points lazily: a file the server still has open must not keep the sandbox's memory
 * alive. The paths are ours and already absolute, so `umount` neither canonicalizes them nor looks
 * for helpers (both read the mount table, which grows with the number of sandboxes).
 */
export async function unmountLazily(mountPath: string, ...mountPoints: string[]): Promise<void> {
  await run(
    mountPath.replace(/mount$/, 'umount'),
    ['--lazy', '--no-canonicalize', '--internal-only', ...mountPoints],
    { env: {} },
  );
}

async function unmountBelow(directory: string, mountPath: string | null): Promise<void> {
  if (!mountPath) return;
  for (const mountPoint of await mountPointsBelow(directory)) {
    await unmountLazily(mountPath, mountPoint).catch(() => undefined);
  }
}

/** Removes `hopgen-sandboxes-<pid>-*` roots of servers that are no longer running. */
async function removeStaleRoots(baseDirectory: string, mountPath: string | null): Promise<void> {
  for (const entry of await readdir(baseDirectory, { withFileTypes: true }).catch(() => [])) {
    const match = /^hopgen-sandboxes-(\d+)-[A-Za-z0-9]{6}$/.exec(entry.name);
    if (!entry.isDirectory() || !match || processAlive(Number(match[1]))) continue;
    const root = path.join(baseDirectory, entry.name);
    await unmountBelow(root, mountPath);
    // Never delete while something is still mounted below: rm would descend into it.
    if ((await mountPointsBelow(root)).length > 0) continue;
    await rm(root, { recursive: true, force: true }).catch(() => undefined);
  }
}
