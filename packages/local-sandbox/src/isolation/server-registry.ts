import { appendFile, lstat, mkdir, readdir, readFile, rm, rmdir, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { LocalSandboxError } from '../errors.js';

/**
 * What every server process on this host holds, so that a server killed with SIGKILL (no `close()`)
 * can be cleaned up by the next one, whatever base directory either uses.
 *
 * One directory per user: `/run/hopgen-sandbox` for root, `/tmp/hopgen-sandbox-<uid>` otherwise
 * (mode 0700, owned by that user). In it, `servers/<pid>-<start time>` lists, one JSON line each,
 * the host directories (sandbox roots, the file helper's folder) and cgroups the process made, and
 * `uid-leases/` holds root's sandbox uid leases. A record whose process is gone (pid dead, or reused
 * by a process that started at another time) is reclaimed: cgroups killed and removed, mounts below
 * its directories unmounted, the directories deleted, then the record. Live servers are never touched.
 */

/** One thing a server made on the host. */
export interface ServerResource {
  /** `directory`: deleted with everything mounted below it; `cgroup`: killed and removed, sub-cgroups first. */
  kind: 'directory' | 'cgroup';
  /** Absolute host path. */
  path: string;
}

/** The registry directory of the user this process runs as. */
export function registryDirectory(): string {
  const uid = process.getuid?.() ?? 0;
  return uid === 0 ? '/run/hopgen-sandbox' : `/tmp/hopgen-sandbox-${uid}`;
}

/** Directory of root's sandbox uid leases (shared by every server on the host, whatever its base directory). */
export function uidLeaseDirectory(): string {
  return path.join(registryDirectory(), 'uid-leases');
}

/** Creates a directory private to this user, refusing one that someone else could have prepared. */
export async function ensurePrivateDirectory(directory: string): Promise<void> {
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const entry = await lstat(directory);
  const uid = process.getuid?.();
  if (!entry.isDirectory() || entry.uid !== uid || (entry.mode & 0o022) !== 0) {
    throw new LocalSandboxError(
      `${directory} must be a directory owned by uid ${uid} and writable only by it; remove it and restart.`,
    );
  }
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat), or null if it is gone. */
async function processStartTime(pid: number): Promise<string | null> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (stat === null) return null;
  // The command name may hold spaces and parentheses: fields are counted after the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
}

let ownRecord: Promise<string> | undefined;

/** Adds a resource to this process's record (created on first use). */
export async function recordServerResource(resource: ServerResource): Promise<void> {
  ownRecord ??= (async () => {
    const servers = path.join(registryDirectory(), 'servers');
    await ensurePrivateDirectory(registryDirectory());
    await mkdir(servers, { recursive: true, mode: 0o700 });
    const record = path.join(servers, `${process.pid}-${await processStartTime(process.pid)}`);
    await writeFile(record, '', { flag: 'a', mode: 0o600 });
    return record;
  })();
  ownRecord.catch(() => {
    ownRecord = undefined;
  });
  await appendFile(await ownRecord, `${JSON.stringify(resource)}\n`);
}

/** What {@link reclaimDeadServers} removed. */
export interface ReclaimReport {
  /** Pids of the dead servers whose records were reclaimed. */
  servers: number[];
  /** Directories and cgroups removed. */
  resources: ServerResource[];
  /** Uid lease files of dead servers removed. */
  uidLeases: number;
}

/**
 * Removes everything that server processes of this user which are no longer running left behind.
 * `unmount` unmounts one mount point (lazily); mounts exist only under root's directories.
 */
export async function reclaimDeadServers(
  options: { unmount?: (mountPoint: string) => Promise<void> } = {},
): Promise<ReclaimReport> {
  const report: ReclaimReport = { servers: [], resources: [], uidLeases: 0 };
  const servers = path.join(registryDirectory(), 'servers');
  for (const name of await readdir(servers).catch(() => [] as string[])) {
    const match = /^(\d+)-(\d+)$/.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    if ((await processStartTime(pid)) === match[2]) continue;
    const record = path.join(servers, name);
    const resources = (await readFile(record, 'utf8').catch(() => ''))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as ServerResource)
      // Only what a server can have made: absolute paths whose last part starts with `hopgen-`.
      .filter((entry) => path.isAbsolute(entry.path) && path.basename(entry.path).startsWith('hopgen-'));
    // Processes first (cgroups), then the files they held open.
    for (const resource of resources.filter((entry) => entry.kind === 'cgroup')) {
      if (await removeCgroupTree(resource.path)) report.resources.push(resource);
    }
    for (const resource of resources.filter((entry) => entry.kind === 'directory')) {
      if (await removeDirectoryTree(resource.path, options.unmount)) report.resources.push(resource);
    }
    await unlink(record).catch(() => undefined);
    report.servers.push(pid);
  }
  for (const name of await readdir(uidLeaseDirectory()).catch(() => [] as string[])) {
    const file = path.join(uidLeaseDirectory(), name);
    const owner = Number(await readFile(file, 'utf8').catch(() => 'NaN'));
    if (Number.isInteger(owner) && owner > 0 && (await processStartTime(owner)) !== null) continue;
    await unlink(file).catch(() => undefined);
    report.uidLeases++;
  }
  return report;
}

/** Kills and removes a cgroup and every cgroup below it; false when it did not exist. */
async function removeCgroupTree(directory: string): Promise<boolean> {
  const info = await lstat(directory).catch(() => null);
  if (!info?.isDirectory()) return false;
  const children = (await readdir(directory, { withFileTypes: true }).catch(() => []))
    .filter((entry) => entry.isDirectory())
    .map((entry) => path.join(directory, entry.name));
  for (const child of children) await removeCgroupTree(child);
  await writeFile(path.join(directory, 'cgroup.kill'), '1').catch(() => undefined);
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await rmdir(directory);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
      await delay(20);
    }
  }
  return true;
}

/** Unmounts what is mounted at or below `directory`, then deletes it; false when it did not exist. */
async function removeDirectoryTree(
  directory: string,
  unmount: ((mountPoint: string) => Promise<void>) | undefined,
): Promise<boolean> {
  const info = await lstat(directory).catch(() => null);
  if (!info?.isDirectory()) return false;
  const mounts = await mountPointsBelow(directory);
  if (mounts.length > 0) {
    if (!unmount) return false;
    for (const mountPoint of mounts) await unmount(mountPoint).catch(() => undefined);
    // Never delete while something is still mounted below: rm would descend into it.
    if ((await mountPointsBelow(directory)).length > 0) return false;
  }
  await rm(directory, { recursive: true, force: true });
  return true;
}

/** Mount points at or below `directory`, deepest first, from /proc/self/mountinfo. */
export async function mountPointsBelow(directory: string): Promise<string[]> {
  const mountInfo = await readFile('/proc/self/mountinfo', 'utf8');
  const prefix = directory.endsWith('/') ? directory : `${directory}/`;
  return mountInfo
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mountPoint): mountPoint is string => !!mountPoint)
    .map((mountPoint) =>
      mountPoint.replace(/\\([0-7]{3})/g, (_, octal: string) =>
        String.fromCharCode(Number.parseInt(octal, 8)),
      ),
    )
    .filter((mountPoint) => mountPoint === directory || mountPoint.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}
