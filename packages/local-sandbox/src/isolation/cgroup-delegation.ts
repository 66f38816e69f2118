import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { CgroupLayout } from './cgroups.js';

/**
 * cgroups for a server that is not root: the part of each hierarchy its user may manage.
 *
 * - cgroup v2 with systemd: every user's `user@UID.service` subtree is delegated to that user; a
 *   server started inside it (a desktop terminal, or `systemd-run --user --scope -p Delegate=yes`)
 *   makes its cgroups under the highest ancestor of its own cgroup that its user may manage. The
 *   kernel (Documentation/admin-guide/cgroup-v2.rst, "Delegation Containment") moves a process for
 *   a non-root writer that may write the destination's `cgroup.procs` and the `cgroup.procs` of the
 *   common ancestor of source and destination: write access, not ownership, and nothing about the
 *   cgroups in between. Our sandboxes start in the server's cgroup, so that common ancestor is the
 *   chosen one, which must therefore be an ancestor of (or be) the server's own cgroup. The highest
 *   is chosen because a cgroup that holds processes cannot pass controllers to its children.
 * - cgroup v1 (and the v1 controllers of a hybrid host): `scripts/delegate-cgroups.sh` (run once as
 *   root) makes `hopgen-delegate-<uid>` at the top of each hierarchy, owned by the user. v1 moves
 *   any process of the same user into a cgroup whose `cgroup.procs` it may write, wherever the
 *   server itself sits.
 */

/** Name of the cgroup `scripts/delegate-cgroups.sh` makes for a user at the top of each hierarchy. */
export function delegatedCgroupName(uid: number): string {
  return `hopgen-delegate-${uid}`;
}

/** Who the server runs as: the kernel's permission checks use this uid and these groups. */
export interface CgroupUser {
  uid: number;
  /** Primary and supplementary groups. */
  gids: readonly number[];
}

/** The server's own user, for {@link delegatedCgroupLayout}. */
export function serverCgroupUser(): CgroupUser {
  return { uid: process.geteuid!(), gids: [...new Set([process.getegid!(), ...process.getgroups!()])] };
}

/**
 * Whether `user` has every permission in `wanted` (octal 0-7, like a mode's digit) on a file, by the
 * kernel's rule for one without capabilities: the owner's bits for its owner, else the group's bits
 * for a member, else the others' bits. From the mode rather than `access()`, so it answers for any
 * user (the tests run as root, for whom `access()` grants everything).
 */
function permits(info: Stats, user: CgroupUser, wanted: number): boolean {
  const shift = info.uid === user.uid ? 6 : user.gids.includes(info.gid) ? 3 : 0;
  return ((info.mode >> shift) & wanted) === wanted;
}

/** Whether `user` may create cgroups in `directory` and move processes into it. */
async function manageable(directory: string, user: CgroupUser): Promise<boolean> {
  const [info, procs] = await Promise.all([
    stat(directory).catch(() => null),
    stat(path.join(directory, 'cgroup.procs')).catch(() => null),
  ]);
  if (!info?.isDirectory() || !procs) return false;
  // mkdir needs write and search permission on the directory.
  return permits(info, user, 0o3) && permits(procs, user, 0o2);
}

/** The directories from `directory` up to `mountPoint`, nearest first. */
function ancestors(directory: string, mountPoint: string): string[] {
  const result: string[] = [];
  let current = directory;
  for (;;) {
    result.push(current);
    if (current === mountPoint || !current.startsWith(`${mountPoint}/`)) return result;
    current = path.dirname(current);
  }
}

/**
 * The layout with each hierarchy's `ownDirectory` moved to the cgroup delegated to `user`, and
 * hierarchies without one set to null (so `missingCgroupFeatures` reports them).
 */
export async function delegatedCgroupLayout(layout: CgroupLayout, user: CgroupUser): Promise<CgroupLayout> {
  const replaced = new Map<object, CgroupLayout['memory']>();
  const delegate = async (hierarchy: CgroupLayout['memory']): Promise<CgroupLayout['memory']> => {
    if (!hierarchy) return null;
    if (replaced.has(hierarchy)) return replaced.get(hierarchy)!;
    let found: string | null = null;
    const chain = ancestors(hierarchy.processDirectory, hierarchy.mountPoint);
    if (hierarchy.version === 2) {
      // The highest ancestor of our own cgroup that we may manage; those in between do not matter.
      for (const directory of chain) if (await manageable(directory, user)) found = directory;
    } else {
      for (const directory of chain) {
        if (await manageable(directory, user)) {
          found = directory;
          break;
        }
        const named = path.join(directory, delegatedCgroupName(user.uid));
        if (await manageable(named, user)) {
          found = named;
          break;
        }
      }
    }
    const result = found ? { ...hierarchy, ownDirectory: found } : null;
    replaced.set(hierarchy, result);
    return result;
  };
  return {
    mode: layout.mode,
    memory: await delegate(layout.memory),
    pids: await delegate(layout.pids),
    cpu: await delegate(layout.cpu),
    unified: await delegate(layout.unified),
    freezer: await delegate(layout.freezer),
  };
}

/**
 * The exact command that delegates cgroups to `user` on this host, for error messages: the set-up
 * script's one-off root step on v1 and hybrid hosts, a delegated systemd scope on pure v2 hosts.
 */
export function delegationCommand(layout: CgroupLayout | null, user: { uid: number; name: string }): string {
  if (layout?.mode === 'v2') {
    return (
      'start the server inside your systemd user manager, which delegates cgroups to you: ' +
      '`systemd-run --user --scope -p Delegate=yes <your command>` (if the memory, pids or cpu controller ' +
      'is missing, an administrator adds `Delegate=cpu cpuset io memory pids` to ' +
      '/etc/systemd/system/user@.service.d/delegate.conf and runs `systemctl daemon-reload`)'
    );
  }
  const hierarchies = [layout?.memory, layout?.pids, layout?.cpu, layout?.freezer, layout?.unified]
    .filter((hierarchy) => !!hierarchy)
    .map((hierarchy) => hierarchy!.mountPoint);
  const mountPoints = [...new Set(hierarchies)];
  const name = delegatedCgroupName(user.uid);
  const loop =
    `for d in ${mountPoints.length > 0 ? mountPoints.join(' ') : '/sys/fs/cgroup/memory /sys/fs/cgroup/pids /sys/fs/cgroup/cpu /sys/fs/cgroup/freezer /sys/fs/cgroup/unified'}; ` +
    `do mkdir -p "$d/${name}" && chown ${user.uid} "$d/${name}" "$d/${name}/cgroup.procs"; done`;
  return (
    `run once, as root: \`sudo bash scripts/delegate-cgroups.sh ${user.name}\` in a hopgen checkout, or ` +
    `\`sudo sh -c '${loop}'\``
  );
}
