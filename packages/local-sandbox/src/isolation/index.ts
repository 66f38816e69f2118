/**
 * Isolation model. Each sandbox runs under bubblewrap on the host's own kernel: every `spawn` is a
 * fresh bwrap in new user, pid, network, ipc, uts, mount and cgroup namespaces, with no capabilities,
 * `no_new_privs`, a cleared environment, and a seccomp filter (generated here as classic BPF) that
 * refuses ptrace, namespace and mount syscalls, kernel modules, BPF, perf, io_uring, keyrings and clock
 * setters, and every socket family but unix, IPv4, IPv6 and netlink-route (AF_VSOCK ignores network
 * namespaces and would reach the hypervisor; the filter kills x32 and i386 syscalls). bwrap's options
 * reach it through a pipe (`--args`), so its command line (pid 1 inside, `ps` outside) holds no host
 * path or environment. The file system is built from nothing: read-only `/usr`, a snapshot of the few
 * `/etc` files interpreters need and the package `runtime/` at `/opt/hopgen` (both copied onto a tmpfs
 * of their own, so /proc/self/mountinfo inside names no host path), private `/proc` and `/dev`, and two
 * writable size-capped tmpfs mounts that persist across spawns: `/workspace` (`workspaceDir`) and
 * `/tmp`. Without `internetAccess` the sandbox has only its own loopback, so neither the internet nor
 * the host's 127.0.0.1 services are reachable; with it, it shares the host network namespace, host
 * loopback included.
 *
 * Two modes, with the same limits:
 * - root: each sandbox runs as its own unprivileged host uid (leased host-wide from a high range; 1000
 *   inside), and its tmpfs mounts are host mounts the server reads and writes through the file helper.
 * - rootless (the server is an ordinary user): every sandbox runs as the server's own uid (1000
 *   inside), so what the uid no longer separates, the namespaces do: its own pid namespace (other
 *   sandboxes' processes are not in its /proc and cannot be signalled), its own mount namespace (other
 *   workspaces do not exist in it), its own cgroups, seccomp (no ptrace, no process_vm_*). Its tmpfs
 *   mounts live in a user and mount namespace of the sandbox's own (`workspace-namespace.ts`) that every
 *   spawn and the file helper enter; the host sees only empty directories. Its cgroups come from the
 *   subtree delegated to the user (`cgroup-delegation.ts`).
 *
 * Every process of a sandbox sits in one cgroup with memory (tmpfs pages included, no swap), pids and
 * CPU limits, which also kills all of them at once (`cgroup.kill`, or the v1 freezer) and freezes them
 * for pause. Where a v2 hierarchy is delegated, a v2 directory is handed to the sandbox at
 * `/sys/fs/cgroup` (sub-cgroups only, not its own limits: as root the limit files stay root's; rootless
 * the sandbox gets a child of its cgroup), so an in-sandbox zygote can kill one run and everything that
 * run started. cgroup v2 lets any process that may write the root's `cgroup.procs` (which a run needs,
 * to join its sub-cgroup) move itself back out, so the zygote applies Landlock (kernel ABI 2+) to each
 * run and to the REPL before user code starts: they cannot write any file under `/sys/fs/cgroup` or
 * create cgroups there. On every event the zygote also kills processes of its pid namespace found in
 * the root cgroup and cgroups it did not create. Without a delegated v2 hierarchy (a rootless server on
 * a cgroup v1 or hybrid host outside its v2 subtree) the zygote is a child subreaper instead and kills
 * whatever a run or the REPL orphans. Residual risk: without Landlock (older kernels) a run can still
 * move into another *live* run's or the REPL's cgroup and live as long as that one does (never beyond
 * the sandbox); and commands the server spawns outside the zygote are not Landlocked, but they sit in
 * their own pid namespace, which dies with them. Limits: the kernel is shared, so a kernel bug
 * reachable through the allowed syscalls is the residual risk (there is no microVM on these hosts);
 * /proc still shows host-wide figures such as CPU count, load and memory totals; CPU time is capped but
 * not memory bandwidth, disk I/O or page cache pressure. Without root and without delegated cgroups a
 * server must opt in to `allowUnlimited`, which keeps the namespaces and seccomp but drops cgroups and
 * the workspace cap, and the `none` backend (macOS development) isolates nothing at all.
 *
 * Every server records the folders and cgroups it makes (`server-registry.ts`); the next server, or
 * `hopgen-sandbox --reclaim`, removes what a server killed without `close()` left.
 */
import { BubblewrapBackend, type BubblewrapBackendOptions } from './bubblewrap-backend.js';
import { NoneBackend, type NoneBackendOptions } from './none-backend.js';
import type { IsolationBackend } from './types.js';

export { BubblewrapBackend, type BubblewrapBackendOptions } from './bubblewrap-backend.js';
export { NoneBackend, type NoneBackendOptions } from './none-backend.js';
export type * from './types.js';

/** Options of {@link createIsolationBackend}; each backend reads the fields it knows. */
export type IsolationBackendOptions = BubblewrapBackendOptions & NoneBackendOptions;

/** Creates the isolation backend named `kind`. Call `preflight()` on it before the first `create()`. */
export function createIsolationBackend(
  kind: 'bubblewrap' | 'none',
  options: IsolationBackendOptions = {},
): IsolationBackend {
  return kind === 'none' ? new NoneBackend(options) : new BubblewrapBackend(options);
}
