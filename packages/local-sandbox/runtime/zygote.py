"""In-sandbox process server of @hopgen/local-sandbox.

One of these runs per sandbox. It forks a fresh child per execution (cheap: no interpreter start,
no sandbox setup) and owns the sandbox's persistent Python interpreter (the REPL), which is itself a
forked child talking to the host on fds 4 and 5.

Host -> zygote: JSON lines on stdin.  Zygote -> host: JSON lines on fd 3.
Every child gets fresh memfds as fds 1 and 2, so output written by C code and by subprocesses is
captured too; the zygote reads them back after the child exits.
"""

import errno
import os
import sys

if sys.flags.no_site:
    # Started with -S: site's .pth processing costs several milliseconds per sandbox start with
    # Debian's data-science stack. The packages need only their directories on sys.path, and user
    # code still gets exit(), quit() and help() as in a normal interpreter.
    import site

    sys.path.extend(path for path in site.getsitepackages() if os.path.isdir(path))
    site.setquit()
    site.setcopyright()
    site.sethelper()

import ctypes  # noqa: E402
import fcntl  # noqa: E402
import select  # noqa: E402
# _signal, not signal: the wrapper module imports enum (milliseconds per sandbox start) only to
# turn numbers into enum members.
import _signal as signal  # noqa: E402

import wire  # noqa: E402
from captured_output import read_captured  # noqa: E402

# Set by main(): the module is imported once by the fork server (runtime/fork_server.py) on the host
# and only configured in each sandbox, so nothing here may touch fds or the environment at import.
PROTOCOL = None
OUTPUT_LIMIT = 4 * 1024 * 1024
RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__))
CODE_DIR = "/tmp/.hopgen"
REPL_IN_FD = 4
REPL_OUT_FD = 5

children = {}  # pid -> (request id, stdout memfd, stderr memfd, meta memfd, code file, cgroup)
by_id = {}  # request id -> pid
repl_pid = None
repl_cgroup = None
# The interpreter's output memfds (stdout, stderr): made here and shared with it, so that what a call
# printed before the interpreter was killed can still be read and returned.
repl_capture = None
# Request ids this process killed on purpose (kill op, repl_kill): any other SIGKILL is the kernel's.
killed_ids = set()
repl_killed = False

# A cgroup delegated to this sandbox (``--run-cgroup PATH``). Every run and the REPL get a
# sub-cgroup of it, so ending a run ends everything it started: a process group alone cannot
# catch a child that called setsid() to outlive its request.
#
# cgroup v2 lets whoever may write the common ancestor's cgroup.procs move a process between two
# cgroups, and a run must be able to write the root's to join its own; every process here has the
# same uid and credentials, so file modes cannot stop a run from moving back out (to the root, to
# another run's or the REPL's cgroup, or to one it makes) and outliving its request. Two layers:
# 1. Landlock (``--no-landlock`` turns it off, for tests of layer 2): each run and the REPL lose
#    the right to write any file below, or make or remove a directory in, the delegated cgroup
#    before user code starts, so they cannot migrate, kill or create cgroups at all.
# 2. A sweep, on every event: processes of this pid namespace in the root cgroup that are not the
#    zygote, its init or a child that has not joined its run yet, and sub-cgroups the zygote did not
#    make, are killed. This is what remains on kernels without Landlock ABI >= 2, where a run can
#    still hide in another *live* run's or the REPL's cgroup until that one ends.
RUN_CGROUP_ROOT = None
USE_LANDLOCK = True
# Start the persistent interpreter at once (without preloaded modules), as if asked with repl_start.
START_REPL = False
# The sandbox's limits as the host set them (``--limits MEMORY_BYTES,PIDS``), named in the errors
# of runs that hit them.
MEMORY_LIMIT_BYTES = None
PIDS_LIMIT = None
# Out-of-memory victims: runs first, then the interpreter, never this process. A run may raise its
# own score but not lower it back (that takes CAP_SYS_RESOURCE), so it cannot hide behind us.
RUN_OOM_SCORE_ADJ = 1000
REPL_OOM_SCORE_ADJ = 500
# Processes of the sandbox the sweep leaves alone: a forked zygote's holder (see fork_server.py).
KEEP_PIDS = ()
cgroup_counter = 0
dying_cgroups = []  # killed, to be removed once their processes are gone

LANDLOCK_CREATE_RULESET = 444
LANDLOCK_ADD_RULE = 445
LANDLOCK_RESTRICT_SELF = 446
LANDLOCK_RULE_PATH_BENEATH = 1
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_ACCESS_FS_WRITE_FILE = 1 << 1
LANDLOCK_ACCESS_FS_REMOVE_DIR = 1 << 4
LANDLOCK_ACCESS_FS_MAKE_DIR = 1 << 7
# Renames and links across directories: unhandled it is denied everywhere, so it is handled and granted.
LANDLOCK_ACCESS_FS_REFER = 1 << 13
PR_SET_NO_NEW_PRIVS = 38
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def landlock_abi():
    if not USE_LANDLOCK or RUN_CGROUP_ROOT is None:
        return 0
    version = _libc.syscall(
        ctypes.c_long(LANDLOCK_CREATE_RULESET), None, ctypes.c_size_t(0), ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION)
    )
    return max(int(version), 0)


# ABI 1 denies every cross-directory rename once a ruleset exists, which would break ordinary code.
LANDLOCK_USABLE = False


def forbid_cgroup_writes():
    """Runs in a forked child after it joined its cgroup: from now on neither it nor anything it
    starts may write a file below RUN_CGROUP_ROOT or make or remove a directory there."""
    if not LANDLOCK_USABLE:
        return
    handled = (
        LANDLOCK_ACCESS_FS_WRITE_FILE
        | LANDLOCK_ACCESS_FS_REMOVE_DIR
        | LANDLOCK_ACCESS_FS_MAKE_DIR
        | LANDLOCK_ACCESS_FS_REFER
    )
    attribute = ctypes.c_uint64(handled)
    ruleset = _libc.syscall(
        ctypes.c_long(LANDLOCK_CREATE_RULESET), ctypes.byref(attribute), ctypes.c_size_t(8), ctypes.c_uint32(0)
    )
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset")
    try:
        # Everything stays writable except the delegated cgroup: grant every directory beside the
        # path from / down to it, at each level.
        directory = "/"
        for component in [part for part in os.path.realpath(RUN_CGROUP_ROOT).split("/") if part]:
            try:
                names = os.listdir(directory)
            except OSError:
                names = []  # nothing granted there: fails closed
            for name in names:
                if name == component:
                    continue
                try:
                    fd = os.open(os.path.join(directory, name), os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
                except OSError:
                    continue  # not a directory
                try:
                    rule = _PathBeneath(handled, fd)
                    if _libc.syscall(
                        ctypes.c_long(LANDLOCK_ADD_RULE),
                        ctypes.c_int(ruleset),
                        ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH),
                        ctypes.byref(rule),
                        ctypes.c_uint32(0),
                    ) != 0:
                        raise OSError(ctypes.get_errno(), "landlock_add_rule %s" % name)
                finally:
                    os.close(fd)
            directory = os.path.join(directory, component)
        _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        if _libc.syscall(ctypes.c_long(LANDLOCK_RESTRICT_SELF), ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(ruleset)


def make_cgroup():
    global cgroup_counter
    if RUN_CGROUP_ROOT is None:
        return None
    cgroup_counter += 1
    path = os.path.join(RUN_CGROUP_ROOT, "run-%d" % cgroup_counter)
    try:
        os.mkdir(path)
    except OSError:
        return None
    return path


def join_cgroup(path):
    """Runs in a forked child before anything else, so nothing it starts escapes the cgroup."""
    if path is None:
        return
    with open(os.path.join(path, "cgroup.procs"), "w") as handle:
        handle.write("0")


def kill_cgroup(path):
    if path is None:
        return
    try:
        with open(os.path.join(path, "cgroup.kill"), "w") as handle:
            handle.write("1")
    except OSError:
        pass
    dying_cgroups.append(path)
    remove_dead_cgroups()


def kill_orphans():
    """Without a delegated cgroup (a rootless server on a host whose cgroup v2 hierarchy is not
    delegated to it), the zygote is a child subreaper: whatever a run or the REPL leaves behind
    when its parent exits (daemons, double-forked jobs) becomes a child of the zygote, and every
    child that is neither a live run nor the REPL is killed here. Its pid cannot be reused before
    the zygote reaps it, so the kill cannot hit anything else. A descendant whose parent still
    lives (a plain background job of the REPL) stays until that parent exits."""
    me = os.getpid()
    allowed = {*children, *([repl_pid] if repl_pid is not None else [])}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in allowed:
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as handle:
                # The command name may hold spaces and parentheses: the fields follow the last ')'.
                parent = int(handle.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == me:
            try:
                os.kill(int(name), signal.SIGKILL)
            except OSError:
                pass


def sweep_strays():
    """Kills what sits where no run is: see the comment at RUN_CGROUP_ROOT."""
    if RUN_CGROUP_ROOT is None:
        kill_orphans()
        return
    known = {entry[5] for entry in children.values()}
    known.update(dying_cgroups)
    known.add(repl_cgroup)
    try:
        names = os.listdir(RUN_CGROUP_ROOT)
    except OSError:
        return
    for name in names:
        path = os.path.join(RUN_CGROUP_ROOT, name)
        if path not in known and os.path.isdir(path):
            kill_cgroup(path)
    # Pids of other spawns of this sandbox read as 0 here (another pid namespace); 1 is bwrap's init.
    allowed = {0, 1, os.getpid(), *KEEP_PIDS, *children, *([repl_pid] if repl_pid is not None else [])}
    for _ in range(10):
        try:
            with open(os.path.join(RUN_CGROUP_ROOT, "cgroup.procs")) as handle:
                strays = [int(pid) for pid in handle.read().split() if int(pid) not in allowed]
        except (OSError, ValueError):
            return
        if not strays:
            return
        # Moved into a cgroup of their own and killed there, so forks racing the kill go with them.
        trash = make_cgroup()
        for pid in strays:
            try:
                if trash is None:
                    raise OSError
                with open(os.path.join(trash, "cgroup.procs"), "w") as handle:
                    handle.write(str(pid))
            except OSError:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        kill_cgroup(trash)


def remove_dead_cgroups():
    for path in list(dying_cgroups):
        try:
            os.rmdir(path)
        except FileNotFoundError:
            dying_cgroups.remove(path)
        except OSError:
            continue  # processes still dying; try again on the next event
        else:
            dying_cgroups.remove(path)


def send(message):
    PROTOCOL.write(wire.dumps(message) + "\n")


def read_memfd(fd, limit=None):
    try:
        return read_captured(fd, OUTPUT_LIMIT if limit is None else limit)
    finally:
        os.close(fd)


def set_oom_score_adj(value):
    try:
        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write(str(value))
    except OSError:
        pass  # no /proc: the kernel picks by size alone


def mebibytes(count):
    return "%d MiB" % (count // (1024 * 1024))


def fork_refused(error):
    """The message of a run that could not start because fork (or a memfd) was refused."""
    if error.errno == errno.EAGAIN:
        limit = " (pids: %d)" % PIDS_LIMIT if PIDS_LIMIT else ""
        return (
            "hopgen: the run could not start: the sandbox reached its process limit%s. "
            "Wait for its other runs to end, or raise the server's limits.pids.\n" % limit
        )
    if error.errno == errno.ENOMEM:
        limit = " (memory: %s)" % mebibytes(MEMORY_LIMIT_BYTES) if MEMORY_LIMIT_BYTES else ""
        return (
            "hopgen: the run could not start: the sandbox is out of memory%s. "
            "Free memory in its other runs, or raise the server's limits.memoryBytes.\n" % limit
        )
    return "hopgen: the run could not start: %s\n" % (error,)


def oom_kills():
    """The kernel's count of out-of-memory kills (host-wide; read before and after a run)."""
    try:
        with open("/proc/vmstat") as handle:
            for line in handle:
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def killed_note(oom_kills_before):
    """Why a run ended with a SIGKILL nobody here sent: the memory limit, as far as can be told."""
    after = oom_kills()
    limit = " of %s" % mebibytes(MEMORY_LIMIT_BYTES) if MEMORY_LIMIT_BYTES else ""
    if oom_kills_before is not None and after is not None and after > oom_kills_before:
        return (
            "hopgen: the run was killed by the out-of-memory killer: the sandbox reached its memory "
            "limit%s. Use less memory, or raise the server's limits.memoryBytes.\n" % limit
        )
    return "hopgen: the run was killed by SIGKILL (the sandbox's memory limit%s, or the code itself).\n" % limit


def reset_child_state(stdout_fd, stderr_fd):
    """Runs in a freshly forked child: own session, default signals, output to the memfds."""
    os.setsid()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(stdout_fd, 1)
    os.dup2(stderr_fd, 2)


STARTUP_ENVIRONMENT = {}


def apply_environment(env, cwd):
    # The sandbox's own variables (TMPDIR, MPLCONFIGDIR, ...) first, then the run's complete set.
    os.environ.clear()
    os.environ.update(STARTUP_ENVIRONMENT)
    os.environ.update(env)
    if cwd:
        os.chdir(cwd)


def run_child(request, stdout_fd, stderr_fd, meta_fd, wake_fds, cgroup):
    """Body of a forked child. Never returns."""
    code = 1
    try:
        join_cgroup(cgroup)
        forbid_cgroup_writes()
        reset_child_state(stdout_fd, stderr_fd)
        for fd in (3, REPL_IN_FD, REPL_OUT_FD, *wake_fds, *(repl_capture or ())):
            try:
                os.close(fd)
            except OSError:
                pass
        # A run is an ordinary process again (an exec would reset this anyway): the zygote is not
        # dumpable only so that runs cannot open its /proc/<pid>/mem or fds, and the zygote's fds
        # are closed by now. Only then is /proc/self/oom_score_adj ours to write: a non-dumpable
        # process's /proc files belong to a root this user namespace does not map, so the write
        # failed (EACCES) and every run kept the zygote's score, tying with it for the OOM killer.
        _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
        set_oom_score_adj(RUN_OOM_SCORE_ADJ)
        sys.stdin = open(0, "r", closefd=False)
        sys.stdout = open(1, "w", buffering=1, closefd=False, encoding="utf-8", errors="replace")
        sys.stderr = open(2, "w", buffering=1, closefd=False, encoding="utf-8", errors="replace")
        try:
            apply_environment(request.get("env") or {}, request.get("cwd"))
        except OSError as error:
            sys.stderr.write("hopgen: cannot enter working directory %s: %s\n" % (request.get("cwd"), error))
            sys.stderr.flush()
            os._exit(1)
        if request.get("kind") == "exec":
            argv = list(request["argv"])
            if "code" in request:
                os.makedirs(CODE_DIR, exist_ok=True)
                path = os.path.join(CODE_DIR, "%s%s" % (request["id"], request.get("ext", "")))
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(request["code"])
                argv.append(path)
            try:
                os.execvp(argv[0], argv)
            except OSError as error:
                sys.stderr.write("hopgen: cannot run %s: %s\n" % (argv[0], error))
                sys.stderr.flush()
                os._exit(127)
        import runner

        code, rich = runner.run_fresh(request["code"], request.get("rich", True))
        os.lseek(meta_fd, 0, os.SEEK_SET)
        os.write(meta_fd, wire.dumps(rich).encode("utf-8"))
    except BaseException:  # noqa: BLE001 - the child must always exit, never return into the loop
        try:
            import traceback

            traceback.print_exc()
        except BaseException:
            pass
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
        os._exit(code)


def start(request, wake_fds):
    request_id = request["id"]
    opened = []
    cgroup = None
    try:
        stdout_fd = os.memfd_create("stdout")
        opened.append(stdout_fd)
        stderr_fd = os.memfd_create("stderr")
        opened.append(stderr_fd)
        # A run's processes share these descriptions, but a memfd's file position is not locked
        # across writers as a regular file's is: two processes printing at once wrote at the same
        # offset and one line overwrote the other. Appending writes at the end under the inode lock.
        for fd in (stdout_fd, stderr_fd):
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_APPEND)
        meta_fd = os.memfd_create("meta")
        opened.append(meta_fd)
        cgroup = make_cgroup()
        oom_before = oom_kills()
        pid = os.fork()
    except OSError as error:
        # The pids controller refuses the fork (EAGAIN), or memory runs out: that run fails, the
        # sandbox and its other runs go on.
        for fd in opened:
            os.close(fd)
        if cgroup is not None:
            kill_cgroup(cgroup)
        send({"id": request_id, "event": "exited", "exit_code": 1, "stdout": "", "stderr": fork_refused(error)})
        return
    if pid == 0:
        run_child(request, stdout_fd, stderr_fd, meta_fd, wake_fds, cgroup)
    code_file = None
    if request.get("kind") == "exec" and "code" in request:
        code_file = os.path.join(CODE_DIR, "%s%s" % (request_id, request.get("ext", "")))
    children[pid] = (request_id, stdout_fd, stderr_fd, meta_fd, code_file, cgroup, oom_before)
    by_id[request_id] = pid
    send({"id": request_id, "event": "started", "pid": pid})


def close_repl_capture():
    global repl_capture
    for fd in repl_capture or ():
        os.close(fd)
    repl_capture = None


def start_repl(request, wake_fds):
    global repl_pid, repl_cgroup, repl_capture, repl_killed
    if repl_pid is not None:
        return
    cgroup = None
    try:
        close_repl_capture()
        repl_capture = (os.memfd_create("repl-stdout"), os.memfd_create("repl-stderr"))
        cgroup = make_cgroup()
        pid = os.fork()
    except OSError as error:
        close_repl_capture()
        if cgroup is not None:
            kill_cgroup(cgroup)
        send({"id": "repl", "event": "exited", "exit_code": 1, "stdout": "", "stderr": fork_refused(error)})
        return
    if pid == 0:
        try:
            join_cgroup(cgroup)
            forbid_cgroup_writes()
            set_oom_score_adj(REPL_OOM_SCORE_ADJ)
            os.setsid()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.set_wakeup_fd(-1)
            for fd in (3, *wake_fds):
                try:
                    os.close(fd)
                except OSError:
                    pass
            import repl

            repl.serve(REPL_IN_FD, REPL_OUT_FD, request.get("preload") or [], repl_capture)
        finally:
            os._exit(0)
    repl_pid = pid
    repl_cgroup = cgroup
    repl_killed = False
    send({"id": "repl", "event": "started", "pid": pid})


def kill_run(pid):
    """Kills a run and everything it started."""
    entry = children.get(pid)
    if entry is not None and entry[5] is not None:
        try:
            with open(os.path.join(entry[5], "cgroup.kill"), "w") as handle:
                handle.write("1")
        except OSError:
            pass
    kill_group(pid)


def kill_repl():
    global repl_killed
    repl_killed = repl_pid is not None
    if repl_cgroup is not None:
        try:
            with open(os.path.join(repl_cgroup, "cgroup.kill"), "w") as handle:
                handle.write("1")
        except OSError:
            pass
    if repl_pid is not None:
        kill_group(repl_pid)


def kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def reap():
    global repl_pid, repl_cgroup
    remove_dead_cgroups()
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            pid = 0
        if pid == 0:
            sweep_strays()
            return
        if os.WIFSIGNALED(status):
            exit_code = 128 + os.WTERMSIG(status)
        else:
            exit_code = os.WEXITSTATUS(status)
        if pid == repl_pid:
            repl_pid = None
            kill_group(pid)
            kill_cgroup(repl_cgroup)
            repl_cgroup = None
            # What the call in progress printed before the interpreter died (empty between calls).
            reply = {"id": "repl", "event": "exited", "exit_code": exit_code, "stdout": "", "stderr": ""}
            if repl_capture is not None:
                reply["stdout"] = read_captured(repl_capture[0], OUTPUT_LIMIT)
                reply["stderr"] = read_captured(repl_capture[1], OUTPUT_LIMIT)
                close_repl_capture()
            if exit_code == 128 + signal.SIGKILL and not repl_killed:
                reply["stderr"] += killed_note(None)
            send(reply)
            continue
        entry = children.pop(pid, None)
        if entry is None:
            continue
        request_id, stdout_fd, stderr_fd, meta_fd, code_file, cgroup, oom_before = entry
        by_id.pop(request_id, None)
        # The run is over: whatever it left behind (daemons, background jobs) goes with it.
        kill_cgroup(cgroup)
        reply = {"id": request_id, "event": "exited", "exit_code": exit_code}
        reply["stdout"] = read_memfd(stdout_fd)
        reply["stderr"] = read_memfd(stderr_fd)
        if exit_code == 128 + signal.SIGKILL and request_id not in killed_ids:
            reply["stderr"] += killed_note(oom_before)
        killed_ids.discard(request_id)
        meta = read_memfd(meta_fd, 64 * 1024 * 1024)
        if meta:
            try:
                reply["rich"] = wire.loads(meta)
            except ValueError:
                pass
        if code_file:
            try:
                os.unlink(code_file)
            except OSError:
                pass
        send(reply)


def preload(modules):
    for name in modules:
        try:
            __import__(name)
        except BaseException:  # noqa: BLE001 - a missing optional module must not stop the sandbox
            pass
    if "matplotlib.pyplot" in sys.modules:
        import runner  # noqa: F401 - registers the figure hooks once, before any fork


def config_from_argv(argv):
    """The configuration of main() from the spawn path's command line."""
    config = {
        "run_cgroup": None,
        "landlock": "--no-landlock" not in argv,
        "start_repl": "--start-repl" in argv,
        "limits": None,
    }
    if "--run-cgroup" in argv:
        config["run_cgroup"] = argv[argv.index("--run-cgroup") + 1]
    if "--limits" in argv:
        config["limits"] = [int(value) for value in argv[argv.index("--limits") + 1].split(",")]
    return config


def configure(config):
    """Applies `config` (see config_from_argv) and the process's environment to this module."""
    global PROTOCOL, OUTPUT_LIMIT, CODE_DIR, RUN_CGROUP_ROOT, USE_LANDLOCK, START_REPL
    global MEMORY_LIMIT_BYTES, PIDS_LIMIT, LANDLOCK_USABLE, STARTUP_ENVIRONMENT, KEEP_PIDS
    KEEP_PIDS = tuple(config.get("keep_pids") or ())
    PROTOCOL = os.fdopen(3, "w", buffering=1, encoding="utf-8", errors="replace")
    OUTPUT_LIMIT = int(os.environ.get("HOPGEN_OUTPUT_LIMIT", str(4 * 1024 * 1024)))
    CODE_DIR = os.path.join(os.environ.get("TMPDIR") or "/tmp", ".hopgen")
    RUN_CGROUP_ROOT = config.get("run_cgroup")
    USE_LANDLOCK = config.get("landlock", True)
    START_REPL = bool(config.get("start_repl"))
    if config.get("limits"):
        MEMORY_LIMIT_BYTES, PIDS_LIMIT = config["limits"]
    LANDLOCK_USABLE = landlock_abi() >= 2
    STARTUP_ENVIRONMENT = dict(os.environ)


def main(config=None):
    """Serves the host until stdin closes. `config`: see config_from_argv; None reads sys.argv."""
    configure(config_from_argv(sys.argv) if config is None else config)
    # Same uid as every run: without this a run could open /proc/<zygote>/mem and fd 3 and act as
    # the zygote (forge replies, skip cgroup joins). Non-dumpable processes' /proc entries belong to
    # root, which this user namespace does not map. Children inherit it; runs switch it back on.
    if _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE)")
    if RUN_CGROUP_ROOT is None:
        _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    sys.path.insert(0, RUNTIME_DIR)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    os.set_blocking(wake_read, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    wake_fds = (wake_read, wake_write)
    if START_REPL:
        # Before this process's own remaining imports: the interpreter starts on the other core
        # meanwhile, and the host needs no round trip to ask for it.
        start_repl({}, wake_fds)
    import runner  # noqa: F401 - imported once here so every forked run has it for free
    stdin = os.fdopen(0, "rb", buffering=0)
    buffer = b""
    send({"event": "ready", "pid": os.getpid()})
    while True:
        readable, _, _ = select.select([0, wake_read], [], [])
        if wake_read in readable:
            try:
                while os.read(wake_read, 512):
                    pass
            except BlockingIOError:
                pass
            reap()
        if 0 not in readable:
            continue
        chunk = stdin.read(65536)
        if not chunk:
            for pid in list(children):
                kill_run(pid)
            kill_repl()
            os._exit(0)
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if not line.strip():
                continue
            request = wire.loads(line)
            op = request.get("op")
            sys.stdout.flush()
            sys.stderr.flush()
            if op == "run":
                start(request, wake_fds)
            elif op == "kill":
                pid = by_id.get(request.get("id"))
                if pid is not None:
                    killed_ids.add(request.get("id"))
                    kill_run(pid)
            elif op == "repl_start":
                start_repl(request, wake_fds)
            elif op == "repl_kill":
                kill_repl()
            elif op == "preload":
                preload(request.get("modules") or [])
                send({"id": request.get("id"), "event": "preloaded"})
        reap()


if __name__ == "__main__":
    main()
