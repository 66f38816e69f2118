import { PreflightError } from '../errors.js';

/**
 * The seccomp program every sandboxed process runs under, as classic BPF for bwrap's `--seccomp FD`.
 * Allow by default, deny what a sandbox never needs and what widens the kernel attack surface:
 * debugging other processes, namespaces and mounts, kernel modules, BPF, perf, io_uring, keyrings,
 * clock setters. Built here rather than with libseccomp so the package has no native dependency.
 *
 * Sockets are limited to the families code legitimately uses: unix, IPv4, IPv6, and netlink's
 * read-mostly `NETLINK_ROUTE` (glibc's getifaddrs and getaddrinfo's AI_ADDRCONFIG ask it for the
 * interfaces). Everything else, above all AF_VSOCK (which ignores network namespaces and reaches the
 * hypervisor), AF_PACKET and the other netlink protocols, fails with EAFNOSUPPORT/EPROTONOSUPPORT.
 *
 * Only x86_64 is supported: the syscall numbers below are x86_64's, and a process that switches to
 * another ABI (i386 via `int 0x80`, x32 via bit 30 of the number) is killed, because its numbers would
 * bypass the deny-list.
 */

const AUDIT_ARCH_X86_64 = 0xc000003e;
const X32_SYSCALL_BIT = 0x40000000;

const SECCOMP_RET_KILL_PROCESS = 0x80000000;
const SECCOMP_RET_ERRNO = 0x00050000;
const SECCOMP_RET_ALLOW = 0x7fff0000;
const EPERM = 1;
const ENOSYS = 38;
const EPROTONOSUPPORT = 93;
const EAFNOSUPPORT = 97;

// Offsets into `struct seccomp_data` (little-endian; the low half of a 64-bit argument comes first).
const OFFSET_NR = 0;
const OFFSET_ARCH = 4;
const argumentLowOffset = (index: number) => 16 + 8 * index;

// Classic BPF opcodes.
const LD_W_ABS = 0x20;
const JMP_JEQ_K = 0x15;
const JMP_JGE_K = 0x35;
const JMP_JSET_K = 0x45;
const RET_K = 0x06;

/** Syscalls answered with EPERM, with their x86_64 numbers. */
export const DENIED_SYSCALLS: Readonly<Record<string, number>> = {
  // Reading or steering other processes.
  ptrace: 101,
  process_vm_readv: 310,
  process_vm_writev: 311,
  kcmp: 312,
  pidfd_getfd: 438,
  process_madvise: 440,
  // Mounts and namespaces (clone with CLONE_NEW* is handled below).
  mount: 165,
  umount2: 166,
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  fspick: 433,
  mount_setattr: 442,
  open_tree_attr: 467,
  pivot_root: 155,
  chroot: 161,
  setns: 308,
  unshare: 272,
  name_to_handle_at: 303,
  open_by_handle_at: 304,
  // Kernel modules, kexec, BPF, tracing, keyrings, io_uring: large attack surface, never needed.
  init_module: 175,
  finit_module: 313,
  delete_module: 176,
  create_module: 174,
  get_kernel_syms: 177,
  query_module: 178,
  kexec_load: 246,
  kexec_file_load: 320,
  bpf: 321,
  perf_event_open: 298,
  userfaultfd: 323,
  fanotify_init: 300,
  lookup_dcookie: 212,
  keyctl: 250,
  add_key: 248,
  request_key: 249,
  io_uring_setup: 425,
  io_uring_enter: 426,
  io_uring_register: 427,
  // Host-wide state: clocks, power, swap, accounting, quotas, kernel log, I/O ports.
  clock_settime: 227,
  clock_adjtime: 305,
  settimeofday: 164,
  adjtimex: 159,
  reboot: 169,
  swapon: 167,
  swapoff: 168,
  acct: 163,
  quotactl: 179,
  quotactl_fd: 443,
  syslog: 103,
  iopl: 172,
  ioperm: 173,
  vhangup: 153,
  sethostname: 170,
  setdomainname: 171,
  // Obsolete interfaces.
  uselib: 134,
  ustat: 136,
  sysfs: 139,
  _sysctl: 156,
  nfsservctl: 180,
};

const SYSCALL_CLONE = 56;
const SYSCALL_CLONE3 = 435;
const SYSCALL_IOCTL = 16;
const SYSCALL_PERSONALITY = 135;
const SYSCALL_SOCKET = 41;
const SYSCALL_SOCKETPAIR = 53;

/** Address families `socket` may create: AF_UNIX, AF_INET, AF_INET6 (AF_NETLINK is checked apart). */
export const ALLOWED_SOCKET_FAMILIES = [1, 2, 10];
const AF_UNIX = 1;
const AF_NETLINK = 16;
/** The only netlink protocol allowed; it lists interfaces and addresses of the sandbox's own netns. */
const NETLINK_ROUTE = 0;

/** CLONE_NEWTIME | NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET. */
export const CLONE_NEW_FLAGS =
  0x00000080 | 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;

/** Terminal ioctls that inject input into or control the controlling terminal. */
const TIOCSTI = 0x5412;
const TIOCLINUX = 0x541c;

/** personality() values that change nothing dangerous: PER_LINUX, PER_LINUX32, UNAME26 variants, query. */
const ALLOWED_PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

type Target =
  | number
  | 'next'
  | 'allow'
  | 'eperm'
  | 'enosys'
  | 'eafnosupport'
  | 'eprotonosupport'
  | 'kill'
  | 'clone'
  | 'ioctl'
  | 'personality'
  | 'socket'
  | 'socketpair';
interface Instruction {
  code: number;
  jumpTrue?: Target;
  jumpFalse?: Target;
  k: number;
  label?: Exclude<Target, number | 'next'>;
}

const load = (offset: number): Instruction => ({ code: LD_W_ABS, k: offset });
const jump = (code: number, k: number, jumpTrue: Target, jumpFalse: Target): Instruction => ({
  code,
  k,
  jumpTrue,
  jumpFalse,
});
const ret = (k: number): Instruction => ({ code: RET_K, k });

/** Throws a PreflightError unless this host can run the x86_64 filter. */
export function assertSeccompSupported(arch: string = process.arch): void {
  if (arch !== 'x64') {
    throw new PreflightError(
      'arch',
      `The bubblewrap backend's seccomp filter is written for x86_64, and this host is ${arch}. ` +
        "Run the sandbox server on an x86_64 Linux host, or use the 'none' backend for development only.",
    );
  }
}

/** The filter as the bytes of a `struct sock_filter[]`, ready to hand to `bwrap --seccomp FD`. */
export function buildSeccompFilter(): Buffer {
  const program: Instruction[] = [
    load(OFFSET_ARCH),
    jump(JMP_JEQ_K, AUDIT_ARCH_X86_64, 'next', 'kill'),
    load(OFFSET_NR),
    jump(JMP_JGE_K, X32_SYSCALL_BIT, 'kill', 'next'),
    ...Object.values(DENIED_SYSCALLS).map((number) => jump(JMP_JEQ_K, number, 'eperm', 'next')),
    jump(JMP_JEQ_K, SYSCALL_CLONE, 'clone', 'next'),
    // glibc falls back to clone() when clone3 is missing, and clone3's flags live in memory BPF cannot read.
    jump(JMP_JEQ_K, SYSCALL_CLONE3, 'enosys', 'next'),
    jump(JMP_JEQ_K, SYSCALL_IOCTL, 'ioctl', 'next'),
    jump(JMP_JEQ_K, SYSCALL_PERSONALITY, 'personality', 'next'),
    jump(JMP_JEQ_K, SYSCALL_SOCKET, 'socket', 'next'),
    jump(JMP_JEQ_K, SYSCALL_SOCKETPAIR, 'socketpair', 'next'),
    ret(SECCOMP_RET_ALLOW),
    // The family and protocol are ints too: the kernel ignores the high half, so does the filter.
    { ...load(argumentLowOffset(0)), label: 'socket' },
    ...ALLOWED_SOCKET_FAMILIES.map((family) => jump(JMP_JEQ_K, family, 'allow', 'next')),
    jump(JMP_JEQ_K, AF_NETLINK, 'next', 'eafnosupport'),
    load(argumentLowOffset(2)),
    jump(JMP_JEQ_K, NETLINK_ROUTE, 'allow', 'eprotonosupport'),
    // Only unix sockets come in connected pairs that code needs.
    { ...load(argumentLowOffset(0)), label: 'socketpair' },
    jump(JMP_JEQ_K, AF_UNIX, 'allow', 'eafnosupport'),
    // The kernel truncates clone flags, ioctl requests and personality to 32 bits, so only the low half counts.
    { ...load(argumentLowOffset(0)), label: 'clone' },
    jump(JMP_JSET_K, CLONE_NEW_FLAGS, 'eperm', 'allow'),
    { ...load(argumentLowOffset(1)), label: 'ioctl' },
    jump(JMP_JEQ_K, TIOCSTI, 'eperm', 'next'),
    jump(JMP_JEQ_K, TIOCLINUX, 'eperm', 'allow'),
    { ...load(argumentLowOffset(0)), label: 'personality' },
    ...ALLOWED_PERSONALITIES.map((value) => jump(JMP_JEQ_K, value, 'allow', 'next')),
    { ...ret(SECCOMP_RET_ERRNO | EPERM), label: 'eperm' },
    // Classic BPF only jumps forward, so the shared returns come last.
    { ...ret(SECCOMP_RET_ALLOW), label: 'allow' },
    { ...ret(SECCOMP_RET_ERRNO | ENOSYS), label: 'enosys' },
    { ...ret(SECCOMP_RET_ERRNO | EAFNOSUPPORT), label: 'eafnosupport' },
    { ...ret(SECCOMP_RET_ERRNO | EPROTONOSUPPORT), label: 'eprotonosupport' },
    { ...ret(SECCOMP_RET_KILL_PROCESS), label: 'kill' },
  ];

  const labels = new Map<Target, number>();
  program.forEach((instruction, index) => {
    if (instruction.label) labels.set(instruction.label, index);
  });
  const offset = (from: number, target: Target | undefined): number => {
    if (target === undefined || target === 'next') return 0;
    const destination = typeof target === 'number' ? target : labels.get(target);
    if (destination === undefined || destination <= from)
      throw new Error(`seccomp: bad jump target ${target}`);
    const distance = destination - from - 1;
    if (distance > 255) throw new Error(`seccomp: jump to ${target} is too far (${distance})`);
    return distance;
  };

  const bytes = Buffer.alloc(program.length * 8);
  program.forEach((instruction, index) => {
    bytes.writeUInt16LE(instruction.code, index * 8);
    bytes.writeUInt8(offset(index, instruction.jumpTrue), index * 8 + 2);
    bytes.writeUInt8(offset(index, instruction.jumpFalse), index * 8 + 3);
    bytes.writeUInt32LE(instruction.k >>> 0, index * 8 + 4);
  });
  return bytes;
}
