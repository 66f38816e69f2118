import { readdirSync, readFileSync } from 'node:fs';

/** Memory of a group of processes: resident (shared pages counted in full), proportional, and cgroup. */
export interface GroupMemory {
  /** The group: a memory cgroup path, or `pid:<n>` for a process outside any sandbox cgroup. */
  key: string;
  pids: number[];
  /** Sum of VmRSS, bytes. */
  rssBytes: number;
  /** Sum of Pss (shared pages split between their users), bytes. */
  pssBytes: number;
  /** The memory cgroup's usage_in_bytes (page cache and tmpfs included), or null when not readable. */
  cgroupBytes: number | null;
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Parent pid of every process that can be read now. */
function parentPids(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readOrNull(`/proc/${entry}/stat`);
    if (stat === null) continue;
    // The command name may hold spaces and parentheses: fields restart after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    parents.set(Number(entry), Number(fields[1]));
  }
  return parents;
}

/** Every live descendant of `rootPid` (children, grandchildren, ...). */
export function descendantsOf(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, parent] of parentPids()) {
    const siblings = children.get(parent) ?? [];
    siblings.push(pid);
    children.set(parent, siblings);
  }
  const found: number[] = [];
  const queue = [...(children.get(rootPid) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    found.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

function kilobytesField(text: string | null, field: string): number {
  const match = text?.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return match ? Number(match[1]) * 1024 : 0;
}

function memoryCgroupOf(pid: number): string | null {
  const lines = readOrNull(`/proc/${pid}/cgroup`)?.split('\n') ?? [];
  const v1 = lines.find((line) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(line));
  return v1 ? v1.slice(v1.indexOf(':', v1.indexOf(':') + 1) + 1) : null;
}

/** Whether any of the processes has a file whose path contains `fragment` mapped (a loaded library). */
export function anyMaps(pids: readonly number[], fragment: string): boolean {
  return pids.some((pid) => readOrNull(`/proc/${pid}/maps`)?.includes(fragment) ?? false);
}

/** Pss of one process from its smaps_rollup, bytes (0 if it is gone): shared pages divided among the processes that map them. */
export function proportionalBytes(pid: number): number {
  return kilobytesField(readOrNull(`/proc/${pid}/smaps_rollup`), 'Pss');
}

/** The process's command name (`/proc/<pid>/comm`), or null if it is gone. */
export function commandNameOf(pid: number): string | null {
  return readOrNull(`/proc/${pid}/comm`)?.trim() ?? null;
}

/** VmRSS of one process in bytes (0 if it is gone). */
export function residentBytes(pid: number): number {
  return kilobytesField(readOrNull(`/proc/${pid}/status`), 'VmRSS');
}

/**
 * Memory of every descendant of `rootPid`, grouped by memory cgroup: each local sandbox has its own,
 * so each group is one sandbox's processes. Processes in `rootPid`'s own cgroup are grouped by pid.
 */
export function memoryByCgroup(rootPid: number): GroupMemory[] {
  const ownCgroup = memoryCgroupOf(rootPid);
  const groups = new Map<string, GroupMemory>();
  for (const pid of descendantsOf(rootPid)) {
    const cgroup = memoryCgroupOf(pid);
    const key = cgroup !== null && cgroup !== ownCgroup ? cgroup : `pid:${pid}`;
    let group = groups.get(key);
    if (group === undefined) {
      const usage = key.startsWith('pid:')
        ? null
        : readOrNull(`/sys/fs/cgroup/memory${key}/memory.usage_in_bytes`);
      group = { key, pids: [], rssBytes: 0, pssBytes: 0, cgroupBytes: usage === null ? null : Number(usage) };
      groups.set(key, group);
    }
    group.pids.push(pid);
    group.rssBytes += residentBytes(pid);
    group.pssBytes += proportionalBytes(pid);
  }
  return [...groups.values()];
}
