"""Starts one `/execute/stream` run inside the sandbox.

The run's environment (its secrets included) and its code come on stdin, never on a command line:
host command lines (bwrap's among them) can be read by every local user with `ps`. stdin carries one
JSON line with the environment, then the code.

Usage: stream_launcher.py EXTENSION MODE COMMAND [ARGUMENT...]. MODE `stdin`: the program reads the
code from its stdin; `file`: the path of a file holding the code is appended to its arguments.
"""

import os
import sys

import wire


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def main():
    extension, mode, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
    data = sys.stdin.buffer.read()
    header, _, code = data.partition(b"\n")
    environment = wire.loads(header)
    os.environ.clear()
    os.environ.update(environment)
    if mode == "stdin":
        source = os.memfd_create("code", 0)
        _write_all(source, code)
        os.lseek(source, 0, os.SEEK_SET)
        os.dup2(source, 0)
        os.close(source)
    else:
        # A real file with the language's extension (go run insists on one); named by pid, so unique.
        code_path = os.path.join(os.environ.get("TMPDIR") or "/tmp", ".hopgen-stream-%d%s" % (os.getpid(), extension))
        fd = os.open(code_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        _write_all(fd, code)
        os.close(fd)
        argv.append(code_path)
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
    try:
        os.execvp(argv[0], argv)
    except OSError as error:
        sys.stderr.write("hopgen: cannot run %s: %s\n" % (argv[0], error))
        sys.exit(127)


main()
