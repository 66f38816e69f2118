/**
 * Isolation model. Each sandbox runs under bubblewrap on the host's own kernel: every `spawn` is a
 * fresh bwrap in new user, pid, network, ipc, uts, mount and cgroup namespaces, started as a per-sandbox
 * unprivileged host uid (leased from a high range, never root even when the server is root; 1000 inside),
 * with no capabilities, `no_new_privs`, a cleared environment, and a seccomp filter (generated here as
 * classic BPF) that refuses ptrace, namespace and mount syscalls, kernel modules, BPF, perf, io_uring,
 * keyrings and clock setters, and every socket family but unix, IPv4, IPv6 and netlink-route (AF_VSOCK
 * ignores network namespaces and would reach the hypervisor; the filter kills x32 and i386 syscalls). The file system is built from nothing: read-only `/usr`, a snapshot of the
 * few `/etc` files interpreters need, the package `runtime/` at `/opt/hopgen`, private `/proc` and `/dev`,
 * and two writable size-capped tmpfs mounts that persist across spawns and are what the server reads and
 * writes on the host: `/workspace` (`workspaceDir`) and `/tmp`. Without `internetAccess` the sandbox has
 * only its own loopback, so neither the internet nor the host's 127.0.0.1 services are reachable; with it,
 * it shares the host network namespace, host loopback included. Every process of a sandbox sits in one
 * cgroup with memory (tmpfs pages included, no swap), pids and CPU limits, which also kills all of them at
 * once (`cgroup.kill`) and freezes them for pause; its v2 directory is delegated to the sandbox at
 * `/sys/fs/cgroup` (sub-cgroups only, not its own limits), so an in-sandbox zygote can kill one run and
 * everything that run started. cgroup v2 lets any process that may write the root's `cgroup.procs`
 * (which a run needs, to join its sub-cgroup) move itself back out, so the zygote applies Landlock
 * (kernel ABI 2+) to each run and to the REPL before user code starts: they cannot write any file
 * under `/sys/fs/cgroup` or create cgroups there. On every event the zygote also kills processes of its
 * pid namespace found in the root cgroup and cgroups it did not create. Residual risk: without
 * Landlock (older kernels) a run can still move into another *live* run's or the REPL's cgroup and
 * live as long as that one does (never beyond the sandbox); and commands the server spawns outside
 * the zygote are not Landlocked, but they sit in their own pid namespace, which dies with them. Limits: the kernel is shared, so a kernel bug reachable
 * through the allowed syscalls is the residual risk (there is no microVM on these hosts); /proc still
 * shows host-wide figures such as CPU count, load and memory totals; CPU time is capped but not memory
 * bandwidth, disk I/O or page cache pressure; and limits need root. A non-root server must opt in to
 * `allowUnlimited`, which keeps the namespaces and seccomp but drops cgroups and the workspace cap, and
 * the `none` backend (macOS development) isolates nothing at all.
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
