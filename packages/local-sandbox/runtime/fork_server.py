"""Fork server of @hopgen/local-sandbox: one per template, on the host, as the server's own user.

It imports the template's modules once (numpy, pandas, matplotlib), warms them up, freezes the
garbage collector, and then forks one process server (zygote.py) per sandbox into the namespaces
of a holder process bwrap started for that sandbox. The sandbox's interpreter therefore shares
the imported pages copy-on-write instead of importing them again.

Started by the host (src/isolation/fork-server.ts) with an empty environment plus the sandbox
defaults, a -c bootstrap that loads the runtime's modules under their sandbox paths
(/opt/hopgen/...), and JSON lines on stdin: first the configuration, then requests:

  {"op": "fork", "id", "tokens": [A, B, C], "procs": [host cgroup.procs files],
   "cwd", "env", "config": zygote.main's configuration}
  {"op": "enter", "id", "holder", "holder_start"}  (holder null: the sandbox did not start; give up)

A fork request comes while the sandbox's holder is still starting: the joiner does what needs no
holder (cgroups, the server's socket) meanwhile, and the enter request follows once it is up.

Replies on stdout: {"event": "ready"} once, then {"id", "event": "entered"} once a joiner cloned its
sandbox's process server, and {"id", "event": "exited", "code", "error"} when a forked sandbox
process server ends (error: why a fork failed, before or after it connected). Nothing secret
ever reaches this process: requests carry the sandbox's default environment only, and the
one-time tokens are useless inside a sandbox (the socket is not in its mount namespace).

Per fork, the child of this process (the joiner):
1. joins the sandbox's cgroups and connects three times to the host's socket (A: zygote requests and
   replies, B: the REPL, C: diagnostics), each connection first sending its one-time token;
2. waits for the enter request, pins the holder, and joins its namespaces: the parent of the
   holder's user namespace (bwrap's --disable-userns nests the sandbox in a second one), ipc, uts,
   net, cgroup, pid, mnt, then the holder's user namespace;
3. drops to uid 1000 and every capability, sets no_new_privs and loads the sandbox's seccomp filter;
4. clones the sandbox's zygote with CLONE_PARENT (the pid namespace applies to children only), so the
   zygote is a child of this fork server, which reaps it, writes its pid on the status pipe and exits.
A sandbox therefore costs one Python process here, not two: the joiner lives a few milliseconds. The
zygote inherits the dropped privileges, closes every other fd and only then runs zygote.main.
"""

import array
import builtins
import ctypes
import fcntl
import gc
import os
import resource
import select
import signal
import socket
import sys

import wire

# Imported here, on the host, so that every sandbox has them already.
import captured_output  # noqa: F401
import repl  # noqa: F401
import runner
import zygote

RUNTIME_PATH = "/opt/hopgen"
SANDBOX_UID = 1000
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
NS_GET_PARENT = 0xB702
NS_GET_OWNER_UID = 0xB704
CLONE_PARENT = 0x00008000
# clone's number differs between architectures (its arguments are all zero here, so their order does
# not matter); an unknown one fails the fork, and the sandbox starts its own interpreter instead.
SYS_CLONE = {"x86_64": 56, "aarch64": 220, "ppc64le": 120, "s390x": 120, "riscv64": 220}.get(os.uname().machine, -1)
PR_CAPBSET_DROP = 24
PR_SET_SECCOMP = 22
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SECCOMP_MODE_FILTER = 2
LINUX_CAPABILITY_VERSION_3 = 0x20080522
# The order in which the sandbox's namespaces are joined; the user namespace last, once the others
# (owned by the outer user namespace) are joined.
NAMESPACES = [
    ("ipc", CLONE_NEWIPC),
    ("uts", CLONE_NEWUTS),
    ("net", CLONE_NEWNET),
    ("cgroup", CLONE_NEWCGROUP),
    ("pid", CLONE_NEWPID),
    ("mnt", CLONE_NEWNS),
]

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.sbrk.restype = ctypes.c_void_p
libc.sbrk.argtypes = [ctypes.c_long]
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def check(result, what):
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, "%s: %s" % (what, os.strerror(number)))


# Run in the fork server as a sandbox's interpreter would run them (runner.execute, a throwaway
# namespace), WARM_UP_ROUNDS times: Python 3.11 counts calls in each code object and then rewrites its
# bytecode in place (quickening), and libraries fill caches on first use. Done here, those writes
# land in pages every sandbox shares; done in a sandbox, each write copies a page into it.
WARM_UP_SNIPPETS = (
    "print(1)",
    "import pandas as pd\ndf = pd.DataFrame({'a': range(1000)})\nprint(int(df.a.sum()))",
    "import pandas as pd\nimport numpy as np\n"
    "df = pd.DataFrame({'a': np.arange(6), 'b': np.linspace(0, 1, 6), 'c': list('xyxyxy')})\n"
    "print(df.describe())\nprint(df.groupby('c').sum())\ndf.head()",
)
WARM_UP_ROUNDS = 12


def warm_up(modules):
    """Imports the template's modules and runs each once, so their lazy imports happen here."""
    zygote.preload(modules)
    if "pandas" in sys.modules:
        pandas = sys.modules["pandas"]
        frame = pandas.DataFrame({"a": [1, 2, 3], "b": [0.5, 1.5, 2.5], "c": ["x", "y", "x"]})
        frame.describe()
        frame.groupby("c").sum()
        frame.to_string()
        frame._repr_html_()
    if "matplotlib.pyplot" in sys.modules:
        import hopgen_mpl

        pyplot = sys.modules["matplotlib.pyplot"]
        pyplot.plot([1, 2, 3], [1, 4, 9])
        hopgen_mpl.capture_open_figures()
        hopgen_mpl.captured.clear()
    if "pandas" in sys.modules:
        run_snippets(WARM_UP_SNIPPETS, WARM_UP_ROUNDS)


def run_snippets(snippets, rounds):
    saved = sys.stdout, sys.stderr
    with open(os.devnull, "w") as null:
        sys.stdout = sys.stderr = null
        try:
            for _ in range(rounds):
                for code in snippets:
                    runner.execute(code, {"__name__": "__main__", "__builtins__": builtins}, "<cell>")
        finally:
            sys.stdout, sys.stderr = saved


def free_small_blocks():
    """[(block size in bytes, free blocks)] of Python's small-object allocator's partly used pools,
    as sys._debugmallocstats reports them (on fd 2)."""
    report = os.memfd_create("mallocstats")
    saved = os.dup(2)
    try:
        os.dup2(report, 2)
        sys._debugmallocstats()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    os.lseek(report, 0, os.SEEK_SET)
    with os.fdopen(report, "rb") as handle:
        text = handle.read().decode("ascii", "replace")
    blocks = []
    for line in text.splitlines():
        # class, size, pools, blocks in use, free blocks
        fields = line.split()
        if len(fields) == 5 and all(field.isdigit() for field in fields) and int(fields[4]) > 0:
            blocks.append((int(fields[1]), int(fields[4])))
    return blocks


def fill_free_small_blocks():
    """Takes every free block of the small-object allocator's partly used pools, for good.

    Those blocks lie scattered over the pages every sandbox shares; a sandbox's first few thousand
    objects would land in them, one copied page per object or two. Taken here (a few hundred KiB that
    stay shared), a sandbox's new objects go to fresh pools instead, packed into pages of its own.
    """
    for _ in range(3):  # the list that keeps them needs blocks too
        blocks = free_small_blocks()
        if not blocks:
            return
        for size, count in blocks:
            if size <= 16:
                FILLED.extend(object() for _ in range(count))
            elif size <= 32:
                FILLED.extend(index + 0.5 for index in range(count))  # a float: 24 bytes
            else:
                # A bytes object of n bytes takes 33 + n.
                FILLED.extend(bytes(size - 33) for _ in range(count))


def fill_free_heap_chunks():
    """Takes every free chunk of the C heap below its current top, for good: the same as
    fill_free_small_blocks for what C code and Python's larger objects allocate with malloc."""
    top = libc.sbrk(0)
    size = 1 << 17
    while size >= 16:
        while True:
            address = libc.malloc(size)
            if not address:
                return
            if address >= top:
                libc.free(address)
                break
            FILLED_HEAP.append(address)
        size = size * 3 // 4


FILLED = []
FILLED_HEAP = []  # addresses never freed


class ForkServer:
    def __init__(self, config):
        self.seccomp = config["seccomp"]
        self.socket_path = config["socket"]
        self.joiners = {}  # joiner pid -> (request id, status pipe read end)
        # Joiners waiting for their enter request: request id -> request pipe write end.
        self.entering = {}
        self.zygotes = {}  # zygote pid -> request id
        # Zygotes reaped before their joiner was (the joiner's status names them): pid -> wait status.
        self.early_exits = {}
        # A joiner forked ahead of the next request: (pid, request pipe write end, status pipe read end).
        self.spare = None

    def serve(self):
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_read, False)
        os.set_blocking(wake_write, False)
        signal.set_wakeup_fd(wake_write)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        self.wake = (wake_read, wake_write)
        send({"event": "ready", "pid": os.getpid()})
        self.fork_spare()
        buffer = b""
        while True:
            readable, _, _ = select.select([0, wake_read], [], [])
            if wake_read in readable:
                try:
                    while os.read(wake_read, 512):
                        pass
                except BlockingIOError:
                    pass
                self.reap()
            if 0 not in readable:
                continue
            chunk = os.read(0, 65536)
            if not chunk:
                os._exit(0)
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if line.strip():
                    self.request(line)
            self.reap()
            # After the requests at hand: forking copies this process's page tables (~4 ms), which
            # the next request then does not wait for.
            if self.spare is None:
                self.fork_spare()

    def request(self, line):
        request = wire.loads(line)
        if request.get("op") == "enter":
            self.enter(request.get("id"), line)
        else:
            self.fork(request.get("id"), line)

    def enter(self, request_id, line):
        """Passes the enter request (a JSON line) to the joiner of that fork, and ends its pipe."""
        request_write = self.entering.pop(request_id, None)
        if request_write is None:
            return  # its joiner failed already; its exit was reported
        try:
            view = memoryview(line + b"\n")
            while view:
                view = view[os.write(request_write, view):]
        except OSError:
            pass  # died meanwhile: its exit is reported when it is reaped
        os.close(request_write)

    def fork(self, request_id, line):
        """Hands the request (a JSON line) to the spare joiner, or forks one for it."""
        if self.spare is None:
            self.fork_spare()
        if self.spare is None:
            send({"id": request_id, "event": "exited", "code": 1, "error": "fork: no joiner could be forked"})
            return
        pid, request_write, status_read = self.spare
        self.spare = None
        try:
            view = memoryview(line + b"\n")
            while view:
                view = view[os.write(request_write, view):]
        except OSError as error:
            os.close(request_write)
            os.close(status_read)
            send({"id": request_id, "event": "exited", "code": 1, "error": "joiner: %s" % error})
            return
        self.entering[request_id] = request_write
        self.joiners[pid] = (request_id, status_read)

    def fork_spare(self):
        """Forks a joiner that waits for its request on a pipe (its end of file: none will come)."""
        request_read, request_write = os.pipe()
        status_read, status_write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as error:
            for fd in (request_read, request_write, status_read, status_write):
                os.close(fd)
            sys.stderr.write("fork server: fork: %s\n" % error)
            return
        if pid == 0:
            os.close(request_write)
            os.close(status_read)
            code = 1
            try:
                code = self.wait_and_join(request_read, status_write)
            except BaseException as error:  # noqa: BLE001 - the child must never return into the loop
                try:
                    os.write(status_write, ("%s" % (error,)).encode("utf-8", "replace")[:4000])
                except BaseException:  # noqa: BLE001
                    pass
            os._exit(code)
        os.close(request_read)
        os.close(status_write)
        os.set_blocking(status_read, False)
        self.spare = (pid, request_write, status_read)

    def wait_and_join(self, request_read, status_write):
        """The spare joiner: reads its request, then joins the sandbox. Returns the exit code."""
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.set_wakeup_fd(-1)
        for fd in self.wake:
            os.close(fd)
        null = os.open("/dev/null", os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.close(null)
        # Other joiners' pipes: held here, one would never read end of file.
        for fd in self.entering.values():
            os.close(fd)
        lines = LineReader(request_read)
        line = lines.next()
        if line is None:
            return 0  # the fork server ended
        return join_sandbox(wire.loads(line), lines, status_write, self.seccomp, self.socket_path)

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.zygotes:
                send(zygote_exit(self.zygotes.pop(pid), status))
                continue
            if self.spare is not None and pid == self.spare[0]:
                os.close(self.spare[1])
                os.close(self.spare[2])
                self.spare = None
                continue
            entry = self.joiners.pop(pid, None)
            if entry is None:
                self.early_exits[pid] = status
                continue
            request_id, status_read = entry
            request_write = self.entering.pop(request_id, None)
            if request_write is not None:
                os.close(request_write)
            try:
                error = os.read(status_read, 4096).decode("utf-8", "replace")
            except OSError:
                error = ""
            os.close(status_read)
            code = os.waitstatus_to_exitcode(status)
            if code == 0 and error.startswith("zygote "):
                zygote = int(error.split()[1])
                if zygote in self.early_exits:
                    send(zygote_exit(request_id, self.early_exits.pop(zygote)))
                else:
                    self.zygotes[zygote] = request_id
                    send({"id": request_id, "event": "entered"})
                continue
            send({"id": request_id, "event": "exited", "code": code or 1, "error": error})


class LineReader:
    """Lines from a pipe, read as they come."""

    def __init__(self, fd):
        self.fd = fd
        self.buffer = b""

    def next(self):
        """The next line, or None at end of file."""
        while b"\n" not in self.buffer:
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line


def zygote_exit(request_id, status):
    # As an exit code of 0 to 255 (a signal's number is negative here).
    code = os.waitstatus_to_exitcode(status) & 0xFF
    return {"id": request_id, "event": "exited", "code": code, "error": ""}


def send(message):
    sys.stdout.write(wire.dumps(message) + "\n")
    sys.stdout.flush()


def same_namespace(holder, kind):
    mine = os.stat("/proc/self/ns/%s" % kind)
    theirs = os.stat("/proc/%d/ns/%s" % (holder, kind))
    return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)


def connect(socket_path, token):
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(socket_path)
    connection.sendall(token.encode("ascii") + b"\n")
    return connection.detach()


def join_sandbox(request, lines, status_write, seccomp_path, socket_path):
    """Child of the fork server: joins the sandbox and clones its zygote. Returns the exit code."""
    # Into the sandbox's cgroups before anything else is read or connected: what this process copies
    # from here on is charged to the sandbox, not to the fork server.
    before = own_cgroups()
    for procs in request.get("procs") or []:
        with open(procs, "w") as handle:
            handle.write(str(os.getpid()))
    joined_cgroups = own_cgroups() - before
    with open(seccomp_path, "rb") as handle:
        filter_bytes = handle.read()
    connections = [connect(socket_path, token) for token in request["tokens"]]
    # Done while the holder starts; the rest needs it.
    line = lines.next()
    os.close(lines.fd)
    enter = wire.loads(line) if line is not None else {}
    if enter.get("holder") is None:
        return 0  # the sandbox did not start
    holder = int(enter["holder"])
    # The pid is the holder's only while it lives: pin it with a pidfd, check it is the process Node
    # found (its start time), open its namespaces, then check it still lives, so that a pid reused
    # after the holder died can never lead this process into another sandbox.
    holder_fd = os.pidfd_open(holder)
    check_holder(holder, enter.get("holder_start"))
    check_holder_cgroups(holder, joined_cgroups)
    user_fd = os.open("/proc/%d/ns/user" % holder, os.O_RDONLY | os.O_CLOEXEC)
    joined = [(os.open("/proc/%d/ns/%s" % (holder, kind), os.O_RDONLY | os.O_CLOEXEC), flag, kind)
              for kind, flag in NAMESPACES if not same_namespace(holder, kind)]
    # The holder's pid as the sandbox sees it: the zygote's sweep of strays must spare it.
    with open("/proc/%d/status" % holder) as handle:
        for line in handle:
            if line.startswith("NSpid:"):
                request["config"]["keep_pids"] = [int(line.split()[-1])]
    if select.select([holder_fd], [], [], 0)[0]:
        raise OSError("the sandbox's holder exited before its namespaces were joined")
    os.close(holder_fd)
    parent_fd = fcntl_ioctl(user_fd, NS_GET_PARENT)
    try:
        # bwrap, running as the sandbox's uid, made that namespace: a third check that the pinned
        # process is this sandbox's (as root, where each sandbox has a uid of its own).
        if request.get("uid") is not None:
            owner = namespace_owner(parent_fd)
            if owner != request["uid"]:
                raise OSError("pid %d is not the sandbox's holder: its user namespace is owned by uid %d, not %d"
                              % (holder, owner, request["uid"]))
        if not same_namespace_fd(parent_fd):
            check(libc.setns(parent_fd, CLONE_NEWUSER), "setns user (outer)")
    finally:
        os.close(parent_fd)
    for fd, flag, kind in joined:
        check(libc.setns(fd, flag), "setns %s" % kind)
        os.close(fd)
    check(libc.setns(user_fd, CLONE_NEWUSER), "setns user")
    os.close(user_fd)
    # Here, before the clone: the zygote inherits uid, capabilities, no_new_privs and seccomp, and this
    # process, in the sandbox's cgroup until it exits, holds nothing more than the sandbox's own.
    drop_privileges(filter_bytes)
    pid = clone_parent()
    if pid == 0:
        os.close(status_write)
        zygote_main(request, connections)
        os._exit(1)
    os.write(status_write, b"zygote %d" % pid)
    return 0


def check_holder(holder, start):
    """Fails unless the process `holder` started at `start` (field 22 of /proc/PID/stat, clock ticks
    since boot). A missing or malformed start fails too: without it the pid names nothing for sure."""
    if isinstance(start, bool) or not isinstance(start, int):
        raise OSError("no valid start time for the sandbox's holder (pid %d): %r" % (holder, start))
    with open("/proc/%d/stat" % holder) as handle:
        # The command name may hold spaces and parentheses: the fields follow its last ')'.
        fields = handle.read().rsplit(")", 1)[1].split()
    if int(fields[19]) != start:
        raise OSError("pid %d is no longer the sandbox's holder" % holder)


def own_cgroups():
    """This process's cgroups, one "hierarchy:controllers:path" line each."""
    with open("/proc/self/cgroup") as handle:
        return set(handle.read().splitlines())


def check_holder_cgroups(holder, joined):
    """Fails unless the holder is in each cgroup this process joined (the sandbox's): a second check,
    beside its start time, that the pinned pid is this sandbox's holder."""
    with open("/proc/%d/cgroup" % holder) as handle:
        theirs = set(handle.read().splitlines())
    missing = sorted(joined - theirs)
    if missing:
        raise OSError("pid %d is not in the sandbox's cgroups (%s)" % (holder, ", ".join(missing)))


def clone_parent():
    """fork(), except that the child's parent is this process's parent (CLONE_PARENT): the fork
    server reaps it. Returns 0 in the child, the child's pid (as this process sees it) in the parent.

    Like os.fork it runs Python's fork hooks around the system call; this process has a single thread
    (a child of the single-threaded fork server), so no lock can be held by a thread the child lacks.
    """
    ctypes.pythonapi.PyOS_BeforeFork()
    pid = libc.syscall(ctypes.c_long(SYS_CLONE), ctypes.c_ulong(CLONE_PARENT | signal.SIGCHLD), None, None, None, None)
    if pid == 0:
        ctypes.pythonapi.PyOS_AfterFork_Child()
        return 0
    number = ctypes.get_errno()
    ctypes.pythonapi.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(number, "clone: %s" % os.strerror(number))
    return pid


def fcntl_ioctl(fd, request):
    result = fcntl.ioctl(fd, request)
    if result < 0:
        raise OSError(ctypes.get_errno(), "ioctl NS_GET_PARENT")
    return result


def namespace_owner(fd):
    """The uid that owns the user namespace `fd`."""
    uid = array.array("I", [0])
    fcntl.ioctl(fd, NS_GET_OWNER_UID, uid, True)
    return uid[0]


def same_namespace_fd(fd):
    mine = os.stat("/proc/self/ns/user")
    theirs = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)


def drop_privileges(filter_bytes):
    """uid and gid 1000, no capability (bounding and ambient sets too), no_new_privs, seccomp."""
    last_cap = 63
    try:
        with open("/proc/sys/kernel/cap_last_cap") as handle:
            last_cap = int(handle.read())
    except (OSError, ValueError):
        pass
    for capability in range(last_cap + 1):
        check(libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0), "drop capability %d" % capability)
    check(libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient capabilities")
    os.setresgid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)
    os.setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)
    header = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    check(libc.capset(ctypes.byref(header), ctypes.byref(data)), "capset")
    check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    program = ctypes.create_string_buffer(filter_bytes, len(filter_bytes))
    fprog = _SockFprog(len(filter_bytes) // 8, ctypes.cast(program, ctypes.c_void_p))
    check(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")


def forget_host(request):
    """Nothing the sandbox can read may name a host path: module paths, caches, the environment."""
    sys.meta_path[:] = [finder for finder in sys.meta_path if not getattr(finder, "hopgen_runtime", False)]
    # The bootstrap's record of the host directory: inside, the runtime is where its modules say.
    main = sys.modules.get("__main__")
    if main is not None and hasattr(main, "HOST"):
        main.HOST = RUNTIME_PATH
    sys.path_importer_cache.clear()
    env = request.get("env") or {}
    python_path = [entry for entry in env.get("PYTHONPATH", "").split(":") if entry]
    sys.path[:] = python_path + [entry for entry in sys.path if entry and entry not in python_path]
    matplotlib = sys.modules.get("matplotlib")
    if matplotlib is not None:
        # The fork server's configuration directory is a private host one; ask again inside.
        for name, label in (("get_configdir", "CONFIGDIR=%s"), ("get_cachedir", "CACHEDIR=%s")):
            function = getattr(matplotlib, name, None)
            if function is not None and hasattr(function, "__wrapped__"):
                setattr(matplotlib, name, matplotlib._logged_cached(label, function.__wrapped__))
    os.environ.clear()
    os.environ.update(env)
    # Each sandbox its own random streams, not a copy of the fork server's.
    if "random" in sys.modules:
        sys.modules["random"].seed()
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()


def zygote_main(request, connections):
    code = 1
    try:
        os.setsid()
        requests, repl, diagnostics = connections
        os.dup2(requests, 0)
        os.dup2(diagnostics, 1)
        os.dup2(diagnostics, 2)
        os.dup2(requests, 3)
        os.dup2(repl, 4)
        os.dup2(repl, 5)
        os.closerange(6, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        for fd in range(6):
            os.set_inheritable(fd, True)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        os.chdir(request.get("cwd") or "/workspace")
        forget_host(request)
        sys.argv = ["-c"]
        zygote.main(request["config"])
        code = 0
    except BaseException:  # noqa: BLE001 - never return into the fork server's loop
        try:
            import traceback

            traceback.print_exc()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001
            pass
    os._exit(code)


def main():
    config = wire.loads(sys.stdin.buffer.readline())
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if os.getuid() == 0:
        os.setgroups([])
    # Its own matplotlib configuration (the font cache) in a private host directory, named only here.
    # HOME and the XDG directories too: the imports run on the host (as root, when the server is),
    # and must read no user's dotfiles (~/.fonts, ~/.config/matplotlib) nor write to the sandboxes'
    # workspace path, which HOME names in the sandboxes' environment.
    os.environ["MPLCONFIGDIR"] = config["configDirectory"]
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        os.environ[name] = config["configDirectory"]
    warm_up(config.get("preload") or [])
    os.environ.clear()
    os.chdir("/")
    # Emptied by every sandbox anyway (its entries name host directories); emptied here, the sandbox
    # does not free thousands of shared objects (each finder's directory listing), which would copy
    # the pages that hold them.
    sys.path_importer_cache.clear()
    # matplotlib empties its font cache in every forked child (FT2Font objects must not cross a
    # fork); freeing the fonts the warm-up loaded wrote about 0.8 MiB of shared pages per sandbox.
    font_manager = sys.modules.get("matplotlib.font_manager")
    if font_manager is not None and hasattr(getattr(font_manager, "_get_font", None), "cache_clear"):
        font_manager._get_font.cache_clear()
    gc.collect()
    fill_free_small_blocks()
    fill_free_heap_chunks()
    # The collector must not touch objects every sandbox shares: it writes their headers, which
    # copies their pages into each sandbox.
    gc.freeze()
    ForkServer(config).serve()
