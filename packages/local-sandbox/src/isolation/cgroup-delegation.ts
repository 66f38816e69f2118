import { access, constants, stat } from 'node:fs/promises';
import path from 'node:path';
import type { CgroupLayout } from './cgroups.js';

/**
 * cgroups for a server that is not root: the part of each hierarchy its user may manage.
 *
 * - cgroup v2 with systemd: every user's `user@UID.service` subtree is delegated to that user; a
 *   server started inside it (a desktop terminal, or `systemd-run --user --scope -p Delegate=yes`)
 *   makes its cgroups under the highest ancestor of its own cgroup that its user owns. v2 moves a
 *   process only for whoever may write the common ancestor's `cgroup.procs`, so the server itself
 *   must live inside the subtree.
 * - cgroup v1 (and the v1 controllers of a hybrid host): `scripts/delegate-cgroups.sh` (run once as
 *   root) makes `hopgen-delegate-<uid>` at the top of each hierarchy, owned by the user. v1 moves
 *   any process of the same user into a cgroup whose `cgroup.procs` it may write, wherever the
 *   server itself sits.
 */

/** Name of the cgroup `scripts/delegate-cgroups.sh` makes for a user at the top of each hierarchy. */
export function delegatedCgroupName(uid: number): string {
  return `hopgen-delegate-${uid}`;
}

async function ownedWritable(directory: string, uid: number): Promise<boolean> {
  const info = await stat(directory).catch(() => null);
  if (!info?.isDirectory() || info.uid !== uid) return false;
  try {
    await access(directory, constants.W_OK);
    await access(path.join(directory, 'cgroup.procs'), constants.W_OK);
    return true;
  } catch {
    return false;
  }
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
 * The layout with each hierarchy's `ownDirectory` moved to the cgroup delegated to `uid`, and
 * hierarchies without one set to null (so `missingCgroupFeatures` reports them).
 */
export async function delegatedCgroupLayout(layout: CgroupLayout, uid: number): Promise<CgroupLayout> {
  const replaced = new Map<object, CgroupLayout['memory']>();
  const delegate = async (hierarchy: CgroupLayout['memory']): Promise<CgroupLayout['memory']> => {
    if (!hierarchy) return null;
    if (replaced.has(hierarchy)) return replaced.get(hierarchy)!;
    let found: string | null = null;
    const chain = ancestors(hierarchy.processDirectory, hierarchy.mountPoint);
    if (hierarchy.version === 2) {
      // The highest ancestor of our own cgroup that is still ours (v2 needs it to be a common ancestor).
      for (const directory of chain) {
        if (!(await ownedWritable(directory, uid))) break;
        found = directory;
      }
    } else {
      for (const directory of chain) {
        if (await ownedWritable(directory, uid)) {
          found = directory;
          break;
        }
        const named = path.join(directory, delegatedCgroupName(uid));
        if (await ownedWritable(named, uid)) {
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
