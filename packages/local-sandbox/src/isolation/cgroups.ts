import { chownSync, existsSync, writeFileSync } from 'node:fs';
import { access, constants, mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { LocalSandboxError } from '../errors.js';
import { recordServerResource } from './server-registry.js';
import type { SandboxLimits } from './types.js';

/**
 * cgroups for sandboxes on whatever the host has: pure v2, pure v1, or the v1/v2 hybrid of this
 * project's machines (v1 memory/pids/cpu/freezer, plus a controller-less v2 `unified` hierarchy that
 * still offers `cgroup.kill` and `cgroup.freeze`).
 *
 * Every backend instance owns one directory per hierarchy, `hopgen-<pid>-<random>`, created under the
 * server's *own* cgroup of that hierarchy (so the server's own limits still cover its sandboxes), and
 * one child per sandbox under it. Directories of dead servers are removed on the next start.
 */

const CPU_PERIOD_MICROSECONDS = 100_000;

/** Where one hierarchy is mounted and where this process sits in it. */
interface Hierarchy {
  version: 1 | 2;
  /** Where the hierarchy is mounted. */
  mountPoint: string;
  /**
   * Directory under which this server makes its cgroups: its own cgroup in the hierarchy (mount
   * point + own path), or, without root, the cgroup delegated to its user.
   */
  ownDirectory: string;
  /** This process's own cgroup in the hierarchy. */
  processDirectory: string;
}

/** The hierarchies a sandbox cgroup is made of, found from /proc/self/mountinfo and /proc/self/cgroup. */
export interface CgroupLayout {
  /** `v2`: one unified hierarchy; `v1`: legacy only; `hybrid`: v1 controllers plus a v2 hierarchy. */
  mode: 'v1' | 'v2' | 'hybrid';
  memory: Hierarchy | null;
  pids: Hierarchy | null;
  cpu: Hierarchy | null;
  /** A v2 hierarchy used for `cgroup.kill` and `cgroup.freeze` (with or without controllers). */
  unified: Hierarchy | null;
  /** The v1 freezer, used for pause and kill when there is no v2 hierarchy. */
  freezer: Hierarchy | null;
}

interface MountedHierarchy {
  mountPoint: string;
  root: string;
  version: 1 | 2;
  controllers: string[];
}

/** What the cgroup layout is read from: this process's files, or a test's fakes. */
export interface CgroupLayoutSources {
  /** The text of `/proc/self/mountinfo`. */
  mountInfo: string;
  /** The text of `/proc/self/cgroup`. */
  membership: string;
  /** The text of `cgroup.controllers` at the top of the v2 hierarchy mounted at `mountPoint`. */
  v2Controllers(mountPoint: string): Promise<string>;
}

/** This process's own mount table and cgroups. */
async function ownCgroupSources(): Promise<CgroupLayoutSources> {
  const [mountInfo, membership] = await Promise.all([
    readFile('/proc/self/mountinfo', 'utf8'),
    readFile('/proc/self/cgroup', 'utf8'),
  ]);
  return {
    mountInfo,
    membership,
    v2Controllers: (mountPoint) =>
      readFile(path.join(mountPoint, 'cgroup.controllers'), 'utf8').catch(() => ''),
  };
}

/**
 * Reads the cgroup hierarchies of this process (or of the given sources). Returns null when cgroups
 * are not mounted at all.
 */
export async function detectCgroupLayout(sources?: CgroupLayoutSources): Promise<CgroupLayout | null> {
  const { mountInfo, membership, v2Controllers: readV2Controllers } = sources ?? (await ownCgroupSources());
  const mounts: MountedHierarchy[] = [];
  for (const line of mountInfo.split('\n')) {
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    const fields = before.split(' ');
    const [fsType, , superOptions = ''] = after.split(' ');
    const root = unescapeMountPath(fields[3] ?? '/');
    const mountPoint = unescapeMountPath(fields[4] ?? '');
    if (fsType === 'cgroup2') mounts.push({ mountPoint, root, version: 2, controllers: [] });
    if (fsType === 'cgroup') {
      mounts.push({ mountPoint, root, version: 1, controllers: superOptions.split(',') });
    }
  }
  if (mounts.length === 0) return null;

  const ownPaths = new Map<string, string>();
  let ownUnifiedPath: string | undefined;
  for (const line of membership.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    const [, hierarchyId, controllers = '', cgroupPath = '/'] = match;
    if (hierarchyId === '0' && controllers === '') ownUnifiedPath = cgroupPath;
    for (const controller of controllers.split(',')) ownPaths.set(controller, cgroupPath);
  }

  const directoryOf = (mount: MountedHierarchy, ownPath: string): string => {
    // Inside a cgroup namespace the own path is relative to the mount's root already.
    const relative =
      mount.root !== '/' && ownPath.startsWith(mount.root) ? ownPath.slice(mount.root.length) : ownPath;
    return path.join(mount.mountPoint, relative);
  };
  const v1 = (controller: string): Hierarchy | null => {
    const mount = mounts.find(
      (candidate) => candidate.version === 1 && candidate.controllers.includes(controller),
    );
    const ownPath = ownPaths.get(controller);
    if (!mount || ownPath === undefined) return null;
    const directory = directoryOf(mount, ownPath);
    return { version: 1, mountPoint: mount.mountPoint, ownDirectory: directory, processDirectory: directory };
  };
  const hasV1 = mounts.some((mount) => mount.version === 1 && !mount.controllers.includes('name=systemd'));
  const unifiedMount = mounts.find((candidate) => candidate.version === 2);
  // On a pure v2 host our own cgroup holds processes, and v2 forbids enabling controllers below a
  // populated cgroup; the root is exempt, so sandboxes get a top-level cgroup there instead.
  const unified: Hierarchy | null =
    unifiedMount && ownUnifiedPath !== undefined
      ? {
          version: 2,
          mountPoint: unifiedMount.mountPoint,
          ownDirectory: hasV1 ? directoryOf(unifiedMount, ownUnifiedPath) : unifiedMount.mountPoint,
          processDirectory: directoryOf(unifiedMount, ownUnifiedPath),
        }
      : null;
  const v2Controllers = unified
    ? (await readV2Controllers(unifiedMount!.mountPoint)).trim().split(/\s+/)
    : [];
  const pick = (controller: string): Hierarchy | null =>
    v1(controller) ?? (unified && v2Controllers.includes(controller) ? unified : null);

  return {
    mode: hasV1 ? (unified ? 'hybrid' : 'v1') : 'v2',
    memory: pick('memory'),
    pids: pick('pids'),
    cpu: pick('cpu'),
    unified,
    freezer: v1('freezer'),
  };
}

function unescapeMountPath(value: string): string {
  return value.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** Everything that is missing for limits to work, as human-readable reasons (empty when all is well). */
export function missingCgroupFeatures(layout: CgroupLayout | null): string[] {
  if (!layout) return ['no cgroup filesystem is mounted'];
  const missing: string[] = [];
  if (!layout.memory) missing.push('no memory controller');
  if (!layout.pids) missing.push('no pids controller');
  if (!layout.cpu) missing.push('no cpu controller');
  if (!layout.unified && !layout.freezer) missing.push('neither a cgroup v2 hierarchy nor the v1 freezer');
  return missing;
}

/** The directories of one sandbox's cgroup, one per hierarchy it uses. */
export class SandboxCgroup {
  readonly #layout: CgroupLayout;
  /** Directory per role; roles sharing a hierarchy (pure v2) share a directory. */
  readonly #directories: { memory: string; pids: string; cpu: string; unified?: string; freezer?: string };
  /** The child of the v2 cgroup that processes join when the sandbox shares the server's uid. */
  #sharedUidChild: string | undefined;

  constructor(
    layout: CgroupLayout,
    directories: { memory: string; pids: string; cpu: string; unified?: string; freezer?: string },
  ) {
    this.#layout = layout;
    this.#directories = directories;
  }

  /** Every distinct directory, in the order a process should join them. */
  get directories(): string[] {
    const { memory, pids, cpu, unified, freezer } = this.#directories;
    return [...new Set([memory, pids, cpu, unified, freezer].filter((entry): entry is string => !!entry))];
  }

  /** The `cgroup.procs` files a launcher writes its pid to, before exec'ing the sandbox. */
  get procsFiles(): string[] {
    return this.directories.map((directory) =>
      path.join(
        directory === this.#directories.unified ? (this.#sharedUidChild ?? directory) : directory,
        'cgroup.procs',
      ),
    );
  }

  /** Applies memory, pids and cpu limits. Swap is limited too, so memory cannot spill into it. */
  async applyLimits(limits: SandboxLimits): Promise<void> {
    const { memory, pids, cpu } = this.#directories;
    const memoryBytes = String(Math.floor(limits.memoryBytes));
    const quota = Math.max(1000, Math.round(limits.cpus * CPU_PERIOD_MICROSECONDS));
    // Synchronous, on the create path: each write to a new cgroup's file takes microseconds, while
    // each trip through libuv's thread pool (four threads, shared with every other create of a
    // burst) took up to milliseconds. The order is the kernel's (memsw after the memory limit).
    if (this.#layout.memory?.version === 1) {
      writeFileSync(path.join(memory, 'memory.limit_in_bytes'), memoryBytes);
      writeOptionalSync(path.join(memory, 'memory.memsw.limit_in_bytes'), memoryBytes);
    } else {
      writeFileSync(path.join(memory, 'memory.max'), memoryBytes);
      writeOptionalSync(path.join(memory, 'memory.swap.max'), '0');
    }
    writeFileSync(path.join(pids, 'pids.max'), String(Math.floor(limits.pids)));
    if (this.#layout.cpu?.version === 1) {
      writeFileSync(path.join(cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_MICROSECONDS));
      writeFileSync(path.join(cpu, 'cpu.cfs_quota_us'), String(quota));
    } else {
      writeFileSync(path.join(cpu, 'cpu.max'), `${quota} ${CPU_PERIOD_MICROSECONDS}`);
    }
  }

  /** Bytes charged to the sandbox's memory cgroup (processes, page cache and tmpfs files). */
  async memoryUsageBytes(): Promise<number> {
    const file = this.#layout.memory?.version === 1 ? 'memory.usage_in_bytes' : 'memory.current';
    return Number((await readFile(path.join(this.#directories.memory, file), 'utf8')).trim());
  }

  /** Pids of every process in the sandbox (read from the first hierarchy; all hold the same set). */
  async pids(): Promise<number[]> {
    const contents = await readFile(path.join(this.#directories.pids, 'cgroup.procs'), 'utf8').catch(
      () => '',
    );
    return contents
      .split('\n')
      .filter((line) => line !== '')
      .map(Number);
  }

  /** Stops every process; returns once the kernel reports the cgroup frozen. */
  async freeze(): Promise<void> {
    const { unified, freezer } = this.#directories;
    if (unified) {
      await writeFile(path.join(unified, 'cgroup.freeze'), '1');
      await waitFor(
        async () => (await readFile(path.join(unified, 'cgroup.events'), 'utf8')).includes('frozen 1'),
        'freeze',
      );
    } else if (freezer) {
      await writeFile(path.join(freezer, 'freezer.state'), 'FROZEN');
      await waitFor(
        async () => (await readFile(path.join(freezer, 'freezer.state'), 'utf8')).trim() === 'FROZEN',
        'freeze',
      );
    }
  }

  /** Lets frozen processes run again. */
  async thaw(): Promise<void> {
    const { unified, freezer } = this.#directories;
    if (unified) await writeFile(path.join(unified, 'cgroup.freeze'), '0');
    else if (freezer) await writeFile(path.join(freezer, 'freezer.state'), 'THAWED');
  }

  /**
   * SIGKILLs every process and waits until the cgroup is empty. `cgroup.kill` (v2, Linux 5.14+) is
   * atomic against forks and reaches sub-cgroups; without it, processes are frozen first so none can
   * fork between the listing and the kill, and the round repeats until nothing is left.
   */
  async killAll(): Promise<void> {
    const { unified } = this.#directories;
    for (let round = 0; ; round++) {
      if (unified && (await exists(path.join(unified, 'cgroup.kill')))) {
        await writeFile(path.join(unified, 'cgroup.kill'), '1');
      } else {
        await this.freeze();
        for (const pid of await this.pids()) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
      }
      await this.thaw();
      try {
        await waitFor(async () => (await this.pids()).length === 0, 'kill', round < 10 ? 500 : 5000);
        return;
      } catch (error) {
        if (round >= 10) throw error;
      }
    }
  }

  /**
   * Hands the v2 cgroup of the sandbox to its host uid, the way systemd delegates a subtree: the
   * sandbox may create sub-cgroups (at most 64, one level deep), move its own processes between them,
   * and kill or freeze a sub-cgroup. It cannot touch its own limits or the files of this cgroup other
   * than `cgroup.procs`/`cgroup.threads`, and nothing above it is visible (cgroup namespace).
   * The root's `cgroup.procs` must stay writable, because cgroup v2 checks the common ancestor for
   * every move and a run joins its sub-cgroup from the root; the same right would let a run move
   * back out, so the in-sandbox zygote takes it away from runs with Landlock and sweeps whatever
   * still lands outside a live run (see `runtime/zygote.py`).
   * Returns the host directory to bind at `/sys/fs/cgroup`, or null without a v2 hierarchy.
   */
  async delegate(owner: { uid: number; gid: number }): Promise<string | null> {
    const { unified } = this.#directories;
    // Synchronous, on the create path, as applyLimits.
    if (!unified || !existsSync(path.join(unified, 'cgroup.kill'))) return null;
    writeFileSync(path.join(unified, 'cgroup.max.descendants'), '64');
    writeFileSync(path.join(unified, 'cgroup.max.depth'), '1');
    for (const entry of ['', 'cgroup.procs', 'cgroup.threads'])
      chownSync(path.join(unified, entry), owner.uid, owner.gid);
    return unified;
  }

  /**
   * The rootless form of {@link delegate}: the sandbox runs as the server's own uid, which owns
   * every file of the sandbox's cgroups, its limits included. So the sandbox gets a child of its
   * v2 cgroup instead (`<cgroup>/sandbox`, where its processes start): it may make run cgroups below
   * it, but the limits, the freeze and the kill of the parent are not in the bound directory, and a
   * frozen or killed parent freezes or kills every descendant whatever the child's own files say.
   * Returns the host directory to bind at `/sys/fs/cgroup`, or null without a v2 hierarchy.
   */
  async delegateToSharedUid(): Promise<string | null> {
    const { unified } = this.#directories;
    if (!unified || !(await exists(path.join(unified, 'cgroup.kill')))) return null;
    await writeFile(path.join(unified, 'cgroup.max.descendants'), '65');
    await writeFile(path.join(unified, 'cgroup.max.depth'), '2');
    const child = path.join(unified, 'sandbox');
    await mkdir(child);
    this.#sharedUidChild = child;
    return child;
  }

  /** Kills what is left and removes every directory, sub-cgroups the sandbox made included. */
  async remove(): Promise<void> {
    await this.killAll().catch(() => undefined);
    const { unified } = this.#directories;
    const subCgroups = unified ? await cgroupsBelow(unified) : [];
    for (const directory of [...subCgroups, ...this.directories]) {
      // The kernel may still be tearing down the last exited task for a few milliseconds.
      await waitFor(async () => {
        try {
          await rmdir(directory);
          return true;
        } catch (error) {
          return (error as NodeJS.ErrnoException).code === 'ENOENT';
        }
      }, 'remove');
    }
  }
}

/** Every cgroup below `directory` (two levels at most), deepest first, so each can be removed in turn. */
async function cgroupsBelow(directory: string, depth = 2): Promise<string[]> {
  if (depth === 0) return [];
  const found: string[] = [];
  for (const entry of await readdir(directory, { withFileTypes: true }).catch(() => [])) {
    if (!entry.isDirectory()) continue;
    const child = path.join(directory, entry.name);
    found.push(...(await cgroupsBelow(child, depth - 1)), child);
  }
  return found;
}

function writeOptionalSync(file: string, value: string): void {
  try {
    writeFileSync(file, value);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    if (await condition()) return;
    if (Date.now() > deadline) {
      throw new LocalSandboxError(`cgroup ${what} did not complete within ${timeoutMs} ms.`);
    }
    await delay(Math.min(1 + attempt, 20));
  }
}

/**
 * Creates sandbox cgroups for one backend instance and keeps a few made ahead of time: creating one
 * takes a mkdir per hierarchy (~2-10 ms with a tail on v1), which is on the path to the first output.
 */
export class CgroupFactory {
  readonly #layout: CgroupLayout;
  readonly #poolSize: number;
  readonly #instanceName: string;
  readonly #pool: SandboxCgroup[] = [];
  #counter = 0;
  #refilling: Promise<void> | undefined;
  #closed = false;

  constructor(layout: CgroupLayout, options: { poolSize: number; instanceName: string }) {
    this.#layout = layout;
    this.#poolSize = options.poolSize;
    this.#instanceName = options.instanceName;
  }

  /** Parent directories this factory creates its cgroups in. */
  get parentDirectories(): string[] {
    const { memory, pids, cpu, unified, freezer } = this.#layout;
    return [
      ...new Set(
        [memory, pids, cpu, unified, freezer]
          .filter((hierarchy): hierarchy is Hierarchy => !!hierarchy)
          .map((hierarchy) => path.join(hierarchy.ownDirectory, this.#instanceName)),
      ),
    ];
  }

  /** Creates the per-instance parents (enabling v2 controllers where needed) and fills the pool. */
  async start(): Promise<void> {
    await removeStaleCgroups(this.#layout);
    for (const parent of this.parentDirectories) {
      await recordServerResource({ kind: 'cgroup', path: parent });
      await mkdir(parent, { recursive: true });
    }
    if (this.#layout.mode === 'v2' && this.#layout.unified) {
      const owner = this.#layout.unified.ownDirectory;
      const parent = path.join(owner, this.#instanceName);
      const wanted = ['memory', 'pids', 'cpu'].map((controller) => `+${controller}`).join(' ');
      // Usually already enabled at the root by systemd; the write below reports the real failure.
      await writeFile(path.join(owner, 'cgroup.subtree_control'), wanted).catch(() => undefined);
      await writeFile(path.join(parent, 'cgroup.subtree_control'), wanted).catch((error) => {
        throw new LocalSandboxError(
          `Cannot enable the memory, pids and cpu controllers in ${parent} (${(error as Error).message}): ` +
            `${owner} must offer them to its children (systemd: Delegate=yes on the server's unit or scope)`,
          { cause: error },
        );
      });
    }
    this.#refill();
  }

  /** A fresh sandbox cgroup with `limits` applied. */
  async take(limits: SandboxLimits): Promise<SandboxCgroup> {
    const cgroup = this.#pool.shift() ?? (await this.#make());
    this.#refill(100);
    await cgroup.applyLimits(limits);
    return cgroup;
  }

  /** Removes pooled cgroups and the per-instance parents (sandbox cgroups must be removed first). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#refilling;
    await Promise.all(this.#pool.splice(0).map((cgroup) => cgroup.remove()));
    for (const parent of this.parentDirectories) await rmdir(parent).catch(() => undefined);
  }

  /** Refills in the background, `delayMs` later so a sandbox just created gets the CPU first. */
  #refill(delayMs = 0): void {
    if (this.#refilling || this.#closed) return;
    this.#refilling = (async () => {
      await delay(delayMs);
      while (!this.#closed && this.#pool.length < this.#poolSize) this.#pool.push(await this.#make());
    })()
      .catch(() => undefined)
      .finally(() => {
        this.#refilling = undefined;
      });
  }

  async #make(): Promise<SandboxCgroup> {
    const name = `sandbox-${++this.#counter}`;
    const directoryIn = (hierarchy: Hierarchy | null) =>
      hierarchy ? path.join(hierarchy.ownDirectory, this.#instanceName, name) : undefined;
    const { memory, pids, cpu, unified, freezer } = this.#layout;
    const directories = {
      memory: directoryIn(memory)!,
      pids: directoryIn(pids)!,
      cpu: directoryIn(cpu)!,
      unified: directoryIn(unified),
      // The v1 freezer is only needed when there is no v2 hierarchy to freeze with.
      freezer: unified ? undefined : directoryIn(freezer),
    };
    const cgroup = new SandboxCgroup(this.#layout, directories);
    await Promise.all(cgroup.directories.map((directory) => mkdir(directory)));
    return cgroup;
  }
}

/** Removes `hopgen-<pid>-*` cgroups left by servers that are no longer running. */
async function removeStaleCgroups(layout: CgroupLayout): Promise<void> {
  const { memory, pids, cpu, unified, freezer } = layout;
  const owners = [
    ...new Set(
      [unified, memory, pids, cpu, freezer]
        .filter((hierarchy): hierarchy is Hierarchy => !!hierarchy)
        .map((hierarchy) => hierarchy.ownDirectory),
    ),
  ];
  const staleParents: string[] = [];
  for (const owner of owners) {
    for (const entry of await readdir(owner, { withFileTypes: true }).catch(() => [])) {
      const match = /^hopgen-(\d+)-[a-z0-9]+$/.exec(entry.name);
      if (entry.isDirectory() && match && !processAlive(Number(match[1]))) {
        staleParents.push(path.join(owner, entry.name));
      }
    }
  }
  if (staleParents.length === 0) return;
  const children: string[] = [];
  // Sub-cgroups a sandbox made in its delegated cgroup go first.
  for (const parent of staleParents) children.push(...(await cgroupsBelow(parent, 3)));
  // The v2 hierarchy (first) kills every process; the v1 directories then empty with it.
  for (const child of children) {
    const killFile = path.join(child, 'cgroup.kill');
    if (await exists(killFile)) await writeFile(killFile, '1').catch(() => undefined);
  }
  await delay(20);
  for (const directory of [...children, ...staleParents]) await rmdir(directory).catch(() => undefined);
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether a process with this pid exists (EPERM means it exists but belongs to someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Why every sandbox create is about 13 ms slower than it need be, given the mount table
 * (`/proc/self/mounts`), or null: without the cgroup2 mount option `favordynmods`, the first write to
 * a `cgroup.procs` after a quiet moment waits for an RCU grace period, and each create makes such
 * writes (its holder's launcher, its forked process server).
 */
export function slowCgroupJoinWarning(mountTable: string): string | null {
  const cgroup2 = mountTable
    .split('\n')
    .map((line) => line.split(' '))
    .find((fields) => fields[2] === 'cgroup2');
  if (!cgroup2 || cgroup2[3]?.split(',').includes('favordynmods')) return null;
  return (
    `The cgroup2 mount ${cgroup2[1]} lacks the favordynmods option, so each sandbox create waits about 13 ms ` +
    'for the kernel to let its processes join their cgroups. Remount it once: ' +
    `mount -o remount,${cgroup2[3]},favordynmods ${cgroup2[1]} (scripts/setup.sh does this).`
  );
}
