import { lstatSync, readlinkSync } from 'node:fs';
import { SANDBOX_RUNTIME_PATH, SANDBOX_WORKSPACE_PATH } from './sandbox-environment.js';

/** uid and gid of every sandboxed process as seen inside the sandbox (mapped to a host uid outside). */
export const SANDBOX_UID = 1000;

/** Only with internet access, bound live over the snapshot's empty placeholders: name resolution. */
export const ETC_NETWORK_FILES = ['resolv.conf', 'host.conf', 'gai.conf'];

/** Top-level directories that are symlinks into /usr on merged-/usr hosts, or real directories otherwise. */
const USR_MERGED_ROOTS = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/** Everything about a sandbox that shapes its bwrap command line. */
export interface SandboxMountPlan {
  /** Host directory bound read-write at /workspace. */
  workspace: string;
  /** Host directory bound read-write at /tmp, or null for a fresh tmpfs per spawn. */
  tmp: string | null;
  /** Size of the per-spawn /tmp tmpfs and of /dev/shm in bytes. */
  tmpBytes: number;
  /** Host directory bound read-only at /opt/hopgen. */
  runtime: string;
  /** Host directory bound read-only at /etc: a snapshot of the host /etc entries sandboxes need. */
  etc: string;
  /** Share the host's network namespace (see {@link bubblewrapSandboxArguments}). */
  internetAccess: boolean;
  /** Extra host paths bound read-only at the same path. */
  readOnlyBinds: string[];
  /** Host cgroup v2 directory delegated to the sandbox, bound at /sys/fs/cgroup; null for none. */
  delegatedCgroup: string | null;
}

/** Where a delegated cgroup appears inside the sandbox. */
export const SANDBOX_CGROUP_PATH = '/sys/fs/cgroup';

/**
 * The part of the bwrap command line that is the same for every spawn of a sandbox.
 *
 * Namespaces: user, pid, net, ipc, uts, mount and cgroup are all new (`--unshare-all`), and
 * `--disable-userns` stops the sandbox from making more user namespaces. The mount namespace starts
 * empty: only what is listed here exists, and `/` is remounted read-only at the end.
 *
 * `internetAccess` keeps the host's network namespace (`--share-net`). That opens every network the host
 * can reach, including the host's own loopback: services listening on the host's 127.0.0.1 (this server's
 * port, databases, metadata proxies) become reachable, as do host abstract unix sockets. Without it (the
 * default) the sandbox has its own network namespace with only a loopback interface and no route out.
 */
export function bubblewrapSandboxArguments(plan: SandboxMountPlan): string[] {
  const argumentsList = [
    '--unshare-all',
    ...(plan.internetAccess ? ['--share-net'] : []),
    '--unshare-user',
    '--disable-userns',
    '--die-with-parent',
    '--new-session',
    '--uid',
    String(SANDBOX_UID),
    '--gid',
    String(SANDBOX_UID),
    '--hostname',
    'sandbox',
    '--ro-bind',
    '/usr',
    '/usr',
  ];
  for (const name of USR_MERGED_ROOTS) {
    const hostPath = `/${name}`;
    const entry = lstatOrNull(hostPath);
    if (entry?.isSymbolicLink()) argumentsList.push('--symlink', readlinkSync(hostPath), hostPath);
    else if (entry?.isDirectory()) argumentsList.push('--ro-bind', hostPath, hostPath);
  }
  // One bind for all of /etc: each mount costs ~0.15 ms on the path to the first output.
  argumentsList.push('--ro-bind', plan.etc, '/etc');
  if (plan.internetAccess) {
    for (const name of ETC_NETWORK_FILES) argumentsList.push('--ro-bind-try', `/etc/${name}`, `/etc/${name}`);
  }
  for (const hostPath of plan.readOnlyBinds) argumentsList.push('--ro-bind', hostPath, hostPath);
  argumentsList.push('--ro-bind', plan.runtime, SANDBOX_RUNTIME_PATH);
  argumentsList.push('--bind', plan.workspace, SANDBOX_WORKSPACE_PATH);
  if (plan.delegatedCgroup) argumentsList.push('--bind', plan.delegatedCgroup, SANDBOX_CGROUP_PATH);
  if (plan.tmp) argumentsList.push('--bind', plan.tmp, '/tmp');
  else argumentsList.push('--size', String(Math.floor(plan.tmpBytes)), '--perms', '1777', '--tmpfs', '/tmp');
  argumentsList.push(
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    // /dev/shm is memory; capped like /tmp so even an unlimited sandbox cannot fill RAM through it.
    '--size',
    String(Math.floor(plan.tmpBytes)),
    '--perms',
    '1777',
    '--tmpfs',
    '/dev/shm',
    // /dev itself is an uncapped tmpfs; nothing needs to create files there.
    '--remount-ro',
    '/dev',
    '--remount-ro',
    '/',
  );
  return argumentsList;
}

/** The per-spawn options: cwd, environment and seccomp fd (the command follows them). */
export function bubblewrapSpawnArguments(options: {
  cwd: string;
  environment: Record<string, string>;
  seccompFd: number;
}): string[] {
  const argumentsList = ['--chdir', options.cwd, '--clearenv'];
  for (const [name, value] of Object.entries(options.environment))
    argumentsList.push('--setenv', name, value);
  argumentsList.push('--seccomp', String(options.seccompFd));
  return argumentsList;
}

function lstatOrNull(hostPath: string) {
  try {
    return lstatSync(hostPath);
  } catch {
    return null;
  }
}
