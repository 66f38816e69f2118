"""The sandbox's persistent Python interpreter: variables survive between calls.

Requests are JSON lines on `in_fd` ({id, code, env}); replies are JSON lines on `out_fd`. Each call
writes to the two memfds the zygote made for this interpreter (as fds 1 and 2, emptied at the start
of every call), so output of C code and of subprocesses is captured as well, and the zygote can
still read what a call printed when the interpreter is killed in the middle of it.
"""

import builtins
import ctypes
import os
import sys

import runner
import wire
from captured_output import read_captured

OUTPUT_LIMIT = 4 * 1024 * 1024
PR_SET_DUMPABLE = 4


def _guard_process(in_fd, out_fd):
    """Keeps the interpreter's protocol away from code it runs, as far as one process can.

    Not dumpable: other processes of the sandbox (same uid) cannot open its /proc/<pid>/mem or fds.
    The protocol pipes move off the well-known fds 4 and 5 to close-on-exec descriptors, so shells and
    programs the code starts do not inherit them. Code running *in* this process can still find them
    (and could patch this module); the host treats every reply as untrusted for that reason.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE)")
    moved_in, moved_out = os.dup(in_fd), os.dup(out_fd)  # os.dup makes non-inheritable fds
    # /dev/null keeps 4 and 5 taken, so nothing else (an output memfd) lands on the old numbers.
    null = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
    for fd in (in_fd, out_fd):
        os.dup2(null, fd, inheritable=False)
    os.close(null)
    return moved_in, moved_out


def _empty(fd):
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)


def _empty_stdin():
    """fd 0 reads /dev/null: `input()` ends at once with EOFError, as in a process without a
    terminal, and nothing the code starts can read the protocol."""
    null = os.open("/dev/null", os.O_RDONLY)
    if null != 0:
        os.dup2(null, 0)
        os.close(null)
    sys.stdin = open(0, "r", closefd=False, encoding="utf-8", errors="replace")


def serve(in_fd, out_fd, preload, capture_fds):
    global OUTPUT_LIMIT
    # Read here, not at import: the fork server imports this module on the host, without the variable.
    OUTPUT_LIMIT = int(os.environ.get("HOPGEN_OUTPUT_LIMIT", str(OUTPUT_LIMIT)))
    _empty_stdin()
    in_fd, out_fd = _guard_process(in_fd, out_fd)
    stdout_fd, stderr_fd = capture_fds
    for name in preload:
        try:
            __import__(name)
        except BaseException:  # noqa: BLE001 - optional modules
            pass
    if "matplotlib.pyplot" in sys.modules:
        # Every call checks for open figures through the figure backend once pyplot is loaded; its
        # import (the Agg canvas, about a millisecond) belongs to the preload, not to the first call.
        try:
            import hopgen_mpl  # noqa: F401
        except BaseException:  # noqa: BLE001 - runner reports a broken backend on use
            pass
    namespace = {"__name__": "__main__", "__builtins__": builtins, "__doc__": None}
    startup_environment = dict(os.environ)
    sys.argv = [""]
    sys.path[0] = ""
    output = os.fdopen(out_fd, "w", buffering=1, encoding="utf-8", errors="replace")
    requests = os.fdopen(in_fd, "rb", buffering=0)
    null = os.open("/dev/null", os.O_WRONLY)
    sys.stdout = open(1, "w", buffering=1, closefd=False, encoding="utf-8", errors="replace")
    sys.stderr = open(2, "w", buffering=1, closefd=False, encoding="utf-8", errors="replace")
    # A leading newline ends any half-written reply of a killed predecessor.
    output.write("\n" + wire.dumps({"event": "ready", "pid": os.getpid()}) + "\n")
    buffer = b""
    while True:
        chunk = requests.read(1 << 20)
        if not chunk:
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if not line.strip():
                continue
            request = wire.loads(line)
            env = request.get("env")
            if env is not None:
                os.environ.clear()
                os.environ.update(startup_environment)
                os.environ.update(env)
            _empty(stdout_fd)
            _empty(stderr_fd)
            os.dup2(stdout_fd, 1)
            os.dup2(stderr_fd, 2)
            exit_code, rich = runner.execute(request.get("code", ""), namespace, "<cell>")
            os.dup2(null, 1)
            os.dup2(null, 2)
            reply = {
                "id": request.get("id"),
                "exit_code": exit_code,
                "stdout": read_captured(stdout_fd, OUTPUT_LIMIT),
                "stderr": read_captured(stderr_fd, OUTPUT_LIMIT),
                "rich": rich,
            }
            # Emptied before the reply: a later death between calls must not repeat this output.
            _empty(stdout_fd)
            _empty(stderr_fd)
            output.write(wire.dumps(reply) + "\n")
