"""Fork server of @hopgen/local-sandbox: one per template, on the host, as the server's own user.

It imports the template's modules once (numpy, pandas, matplotlib), warms them up, freezes the
garbage collector, and then forks one process server (zygote.py) per sandbox into the namespaces
of a holder process bwrap started for that sandbox. The sandbox's interpreter therefore shares
the imported pages copy-on-write instead of importing them again.

Started by the host (src/isolation/fork-server.ts) with an empty environment plus the sandbox
defaults, a -c bootstrap that loads the runtime's modules under their sandbox paths
(/opt/hopgen/...), and JSON lines on stdin: first the configuration, then requests:

  {"op": "fork", "id", "holder", "tokens": [A, B, C], "procs": [host cgroup.procs files],
   "cwd", "env", "config": zygote.main's configuration}

Replies on stdout: {"event": "ready"} once, then {"id", "event": "exited", "code", "error"} when a
forked sandbox process server ends (error: why a fork failed before it connected). Nothing secret
ever reaches this process: requests carry the sandbox's default environment only, and the
one-time tokens are useless inside a sandbox (the socket is not in its mount namespace).

Per fork, the child of this process (the intermediate):
1. connects three times to the host's socket (A: zygote requests and replies, B: the REPL,
   C: diagnostics), each connection first sending its one-time token;
2. joins the sandbox's cgroups, then its namespaces: the parent of the holder's user namespace
   (bwrap's --disable-userns nests the sandbox in a second one), ipc, uts, net, cgroup, pid, mnt,
   then the holder's user namespace;
3. forks the sandbox's zygote (the pid namespace applies to children only) and waits for it, so
   the zygote always has a parent that reaps it.
Before that fork the intermediate drops to uid 1000 and every capability, sets no_new_privs and
loads the sandbox's seccomp filter (the zygote inherits them); the zygote closes every other fd and
only then runs zygote.main.
"""

import ctypes
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
import runner  # noqa: F401
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
PR_SET_PDEATHSIG = 1
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


class ForkServer:
    def __init__(self, config):
        self.seccomp = config["seccomp"]
        self.socket_path = config["socket"]
        self.children = {}  # intermediate pid -> (request id, status pipe read end)

    def serve(self):
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_read, False)
        os.set_blocking(wake_write, False)
        signal.set_wakeup_fd(wake_write)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        self.wake = (wake_read, wake_write)
        send({"event": "ready", "pid": os.getpid()})
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
                    self.fork(wire.loads(line))
            self.reap()

    def fork(self, request):
        status_read, status_write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as error:
            os.close(status_read)
            os.close(status_write)
            send({"id": request.get("id"), "event": "exited", "code": 1, "error": "fork: %s" % error})
            return
        if pid == 0:
            os.close(status_read)
            code = 1
            try:
                code = intermediate(request, status_write, self.seccomp, self.socket_path, self.wake)
            except BaseException as error:  # noqa: BLE001 - the child must never return into the loop
                try:
                    os.write(status_write, ("%s" % (error,)).encode("utf-8", "replace")[:4000])
                except BaseException:  # noqa: BLE001
                    pass
            os._exit(code)
        os.close(status_write)
        os.set_blocking(status_read, False)
        self.children[pid] = (request.get("id"), status_read)

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            entry = self.children.pop(pid, None)
            if entry is None:
                continue
            request_id, status_read = entry
            try:
                error = os.read(status_read, 4096).decode("utf-8", "replace")
            except OSError:
                error = ""
            os.close(status_read)
            code = os.waitstatus_to_exitcode(status)
            send({"id": request_id, "event": "exited", "code": code, "error": error})


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


def intermediate(request, status_write, seccomp_path, socket_path, wake_fds):
    """Child of the fork server: joins the sandbox and forks its zygote. Returns the exit code."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)
    for fd in wake_fds:
        os.close(fd)
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    holder = int(request["holder"])
    # Opened before anything else: the pid stays the holder's only while it lives, and the fds keep
    # the namespaces even if it dies now.
    user_fd = os.open("/proc/%d/ns/user" % holder, os.O_RDONLY | os.O_CLOEXEC)
    joined = [(os.open("/proc/%d/ns/%s" % (holder, kind), os.O_RDONLY | os.O_CLOEXEC), flag, kind)
              for kind, flag in NAMESPACES if not same_namespace(holder, kind)]
    with open(seccomp_path, "rb") as handle:
        filter_bytes = handle.read()
    # The holder's pid as the sandbox sees it: the zygote's sweep of strays must spare it.
    with open("/proc/%d/status" % holder) as handle:
        for line in handle:
            if line.startswith("NSpid:"):
                request["config"]["keep_pids"] = [int(line.split()[-1])]
    connections = [connect(socket_path, token) for token in request["tokens"]]
    for procs in request.get("procs") or []:
        with open(procs, "w") as handle:
            handle.write(str(os.getpid()))
    parent_fd = fcntl_ioctl(user_fd, NS_GET_PARENT)
    try:
        if not same_namespace_fd(parent_fd):
            check(libc.setns(parent_fd, CLONE_NEWUSER), "setns user (outer)")
    finally:
        os.close(parent_fd)
    for fd, flag, kind in joined:
        check(libc.setns(fd, flag), "setns %s" % kind)
        os.close(fd)
    check(libc.setns(user_fd, CLONE_NEWUSER), "setns user")
    os.close(user_fd)
    # Here, not in the zygote: this process stays in the sandbox's cgroup while it waits, so it too
    # must hold nothing more than the sandbox's own processes.
    drop_privileges(filter_bytes)
    go_read, go_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(go_write)
        os.close(status_write)
        # Waits until the parent is known to be alive: the death signal is set after the uid change.
        zygote_main(request, connections, go_read)
        os._exit(1)
    os.close(go_read)
    for connection in connections:
        os.close(connection)
    os.write(go_write, b"x")
    os.close(go_write)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    return os.waitstatus_to_exitcode(status) & 0xFF


def fcntl_ioctl(fd, request):
    import fcntl

    result = fcntl.ioctl(fd, request)
    if result < 0:
        raise OSError(ctypes.get_errno(), "ioctl NS_GET_PARENT")
    return result


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
    check(libc.syscall(ctypes.c_long(126), ctypes.byref(header), ctypes.byref(data)), "capset")  # capset
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


def zygote_main(request, connections, go_read):
    code = 1
    try:
        os.setsid()
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.read(go_read, 1) != b"x" or os.getppid() != 0:
            os._exit(1)  # the intermediate is gone (its pid reads as 0 from this pid namespace)
        os.close(go_read)
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
    os.environ["MPLCONFIGDIR"] = config["configDirectory"]
    warm_up(config.get("preload") or [])
    os.environ.clear()
    os.chdir("/")
    gc.collect()
    # The collector must not touch objects every sandbox shares: it writes their headers, which
    # copies their pages into each sandbox.
    gc.freeze()
    ForkServer(config).serve()
