"""Host-side file helper of @hopgen/local-sandbox: does the server's file operations in workspaces.

Sandboxed code controls everything in its workspace, symlinks included, and can swap a directory for
a symlink to a host directory between any check and any use of a path. Node has no openat(), so the
server never touches a workspace path itself: it asks this helper, which forks a child per request.
The child enters a private mount namespace, bind-mounts the workspace on an otherwise empty root,
chroots there and drops to the sandbox's owner uid and gid before it looks at any path. Every symlink
then resolves inside that root, so a race can at worst point an operation at another workspace file.

Usage: file-helper.py DIRECTORY. DIRECTORY is private to the server (mode 0700); the helper listens on
DIRECTORY/socket and uses DIRECTORY/root as the empty root. It writes "ready" on stdout when it accepts
connections. One connection carries one request:

  request: a JSON line {"op", "workspace", "view", "path", "uid", "gid", ...}; for "write" the body
           follows as frames (4-byte big-endian length, then bytes), ended by an empty frame.
  reply:   a JSON line {"ok": true, ...} or {"ok": false, "error": KIND} / {"ok": false, "errno": NAME};
           for "read" the file's bytes follow until the connection closes.
"""

import errno
import json
import os
import shutil
import signal
import socket
import stat
import struct
import sys

# -I leaves the script's own folder off sys.path; the shared namespace steps live there.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from host_namespaces import (  # noqa: E402
    CLONE_NEWNS,
    check as _check,
    join_user_and_mounts,
    libc as _libc,
    make_mounts_private,
    unshare_user_and_mounts,
)

MS_BIND = 4096
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
CHUNK = 1 << 20
HEADER_LIMIT = 1 << 20
# About how much JSON one listing page may hold: well inside what the server reads of a reply.
PAGE_BYTES = 4 << 20


class Refused(Exception):
    """A request the helper answers with an error kind instead of an errno."""

    def __init__(self, kind, **extra):
        super().__init__(kind)
        self.kind = kind
        self.extra = extra


def enter_workspace(root, workspace, uid, gid, namespace_pid=None):
    """Makes `/workspace` the sandbox's workspace and the only thing reachable; drops privileges."""
    if namespace_pid is not None:
        # A rootless sandbox's workspace is mounted in its holder's namespaces, which this user owns.
        join_user_and_mounts(namespace_pid)
    elif os.geteuid() == 0:
        _check(_libc.unshare(CLONE_NEWNS), "unshare")
    else:
        unshare_user_and_mounts()
    make_mounts_private()
    target = os.path.join(root, "workspace").encode()
    _check(_libc.mount(workspace.encode(), target, None, MS_BIND, None), "mount --bind")
    os.chroot(root)
    os.chdir("/")
    if uid is not None and os.geteuid() == 0:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    return "/workspace"


def read_line(connection):
    data = b""
    while b"\n" not in data:
        chunk = connection.recv(65536)
        if not chunk or len(data) > HEADER_LIMIT:
            raise Refused("BAD_REQUEST")
        data += chunk
    # The header is the first line; a body (write) follows, already partly read into `data`.
    line, rest = data.split(b"\n", 1)
    return json.loads(line), rest


class FrameReader:
    """Reads the framed body of a write: length-prefixed chunks, an empty one at the end."""

    def __init__(self, connection, pending):
        self.connection = connection
        self.pending = pending

    def _exactly(self, count):
        while len(self.pending) < count:
            chunk = self.connection.recv(max(CHUNK, count - len(self.pending)))
            if not chunk:
                raise Refused("BODY_INCOMPLETE")
            self.pending += chunk
        data, self.pending = self.pending[:count], self.pending[count:]
        return data

    def chunks(self):
        while True:
            (length,) = struct.unpack(">I", self._exactly(4))
            if length == 0:
                return
            yield self._exactly(length)


class Workspace:
    def __init__(self, view):
        self.view = view

    def inside(self, path):
        return path == self.view or path.startswith(self.view + "/")

    def full(self, relative):
        if relative in ("", "."):
            return self.view
        if relative.startswith("/") or relative == ".." or relative.startswith("../") or "\0" in relative:
            raise Refused("OUTSIDE")
        return self.view + "/" + relative

    def resolve(self, relative, follow_final=True):
        full = self.full(relative)
        if follow_final or full == self.view:
            real = os.path.realpath(full)
        else:
            real = os.path.join(os.path.realpath(os.path.dirname(full)), os.path.basename(full))
        if not self.inside(real):
            raise Refused("OUTSIDE")
        return real

    def relative(self, real):
        return "" if real == self.view else real[len(self.view) + 1 :]


FLAGS = os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY


def op_read(workspace, request, connection, _body):
    real = workspace.resolve(request["path"])
    fd = os.open(real, os.O_RDONLY | FLAGS)
    info = os.fstat(fd)
    if stat.S_ISDIR(info.st_mode):
        raise Refused("IS_DIRECTORY")
    if not stat.S_ISREG(info.st_mode):
        raise Refused("NOT_REGULAR")
    limit = int(request["max_bytes"])
    # Both sizes: a sparse file costs its writer nothing on disk but its whole logical size to send.
    allocated = info.st_blocks * 512
    if info.st_size > limit or allocated > limit:
        raise Refused("TOO_LARGE", size=info.st_size, allocated=allocated)
    size = info.st_size
    reply(connection, {"ok": True, "path": workspace.relative(real), "size": size, "allocated": allocated})
    # Exactly the size announced, even if the file grows meanwhile: the server streams it with that length.
    sent = 0
    while sent < size:
        chunk = os.read(fd, min(CHUNK, size - sent))
        if not chunk:
            break
        connection.sendall(chunk)
        sent += len(chunk)
    return None


def make_parents(workspace, real):
    parent = os.path.dirname(real)
    if not workspace.inside(parent):
        raise Refused("OUTSIDE")
    try:
        os.makedirs(parent, 0o755, exist_ok=True)
    except FileExistsError:
        raise Refused("NOT_DIRECTORY") from None
    except NotADirectoryError:
        raise Refused("NOT_DIRECTORY") from None


def op_write(workspace, request, _connection, body):
    real = workspace.resolve(request["path"])
    filename = request.get("filename")
    try:
        if filename and stat.S_ISDIR(os.stat(real).st_mode):
            directory = workspace.relative(real)
            name = os.path.basename(filename) or "upload"
            real = workspace.resolve(directory + "/" + name if directory else name)
    except FileNotFoundError:
        pass
    make_parents(workspace, real)
    # A parent swapped for a symlink meanwhile only moves the write within the workspace; the
    # path must still resolve inside for an honest answer.
    real = workspace.resolve(workspace.relative(real))
    flags = os.O_WRONLY | os.O_CREAT | FLAGS
    if not request.get("overwrite", True):
        flags |= os.O_EXCL
    mode = int(request.get("mode", 0o644)) & 0o777
    try:
        fd = os.open(real, flags, mode)
    except FileExistsError:
        raise Refused("EXISTS") from None
    info = os.fstat(fd)
    if stat.S_ISDIR(info.st_mode):
        raise Refused("IS_DIRECTORY")
    if not stat.S_ISREG(info.st_mode):
        raise Refused("NOT_REGULAR")
    os.ftruncate(fd, 0)
    os.fchmod(fd, mode)
    limit = int(request["max_bytes"])
    size = 0
    for chunk in body.chunks():
        size += len(chunk)
        if size > limit:
            os.ftruncate(fd, 0)
            raise Refused("TOO_LARGE")
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view) :]
    return {"path": workspace.relative(real), "size": size}


def op_list(workspace, request, _connection, _body):
    """One page of a directory, names in code-point order after `after`: at most `limit` entries and
    about PAGE_BYTES of reply, so no directory is too large to list."""
    real = workspace.resolve(request["path"])
    try:
        fd = os.open(real, os.O_RDONLY | os.O_DIRECTORY | FLAGS)
    except NotADirectoryError:
        raise Refused("NOT_DIRECTORY") from None
    after = request.get("after")
    limit = int(request.get("limit") or 1000)
    with os.scandir(fd) as iterator:
        names = sorted(entry.name for entry in iterator if after is None or entry.name > after)
    entries = []
    reply_bytes = 0
    next_after = None
    for name in names:
        if entries and (len(entries) >= limit or reply_bytes >= PAGE_BYTES):
            next_after = entries[-1]["name"]
            break
        try:
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            continue  # removed while listing
        entries.append({"name": name, "mode": info.st_mode, "size": info.st_size, "mtime": info.st_mtime_ns // 1000000})
        reply_bytes += len(json.dumps(name)) + 80
    return {"path": workspace.relative(real), "entries": entries, "next_after": next_after}


def op_exists(workspace, request, _connection, _body):
    real = workspace.resolve(request["path"], follow_final=False)
    try:
        info = os.lstat(real)
    except (FileNotFoundError, NotADirectoryError):
        return {"path": workspace.relative(real), "exists": False, "is_dir": False}
    return {"path": workspace.relative(real), "exists": True, "is_dir": stat.S_ISDIR(info.st_mode)}


def op_remove(workspace, request, _connection, _body):
    real = workspace.resolve(request["path"], follow_final=False)
    if real == workspace.view:
        raise Refused("ROOT")
    parent = os.open(os.path.dirname(real), os.O_RDONLY | os.O_DIRECTORY | FLAGS)
    name = os.path.basename(real)
    info = os.stat(name, dir_fd=parent, follow_symlinks=False)
    if stat.S_ISDIR(info.st_mode):
        # The fd-based rmtree never follows a symlink inside the tree it deletes.
        shutil.rmtree(name, dir_fd=parent)
    else:
        os.unlink(name, dir_fd=parent)
    return {"path": workspace.relative(real)}


def op_mkdir(workspace, request, _connection, _body):
    real = workspace.resolve(request["path"])
    try:
        info = os.lstat(real)
        if not stat.S_ISDIR(info.st_mode):
            raise Refused("EXISTS")
    except FileNotFoundError:
        make_parents(workspace, real)
        try:
            os.mkdir(real, 0o755)
        except FileExistsError:
            if not stat.S_ISDIR(os.lstat(real).st_mode):
                raise Refused("EXISTS") from None
    return {"path": workspace.relative(real)}


OPERATIONS = {
    "read": op_read,
    "write": op_write,
    "list": op_list,
    "exists": op_exists,
    "remove": op_remove,
    "mkdir": op_mkdir,
}


def reply(connection, message):
    connection.sendall(json.dumps(message).encode() + b"\n")


def handle(connection, root):
    request, rest = read_line(connection)
    operation = OPERATIONS.get(request.get("op"))
    if operation is None:
        raise Refused("BAD_REQUEST")
    if request.get("isolate", True):
        namespace_pid = request.get("namespace_pid")
        if namespace_pid is not None and (type(namespace_pid) is not int or namespace_pid <= 1):
            raise Refused("BAD_REQUEST")
        view = enter_workspace(root, request["workspace"], request.get("uid"), request.get("gid"), namespace_pid)
    else:
        # The `none` backend: sandboxed code runs as the server's user with the host's files anyway.
        view = request["workspace"]
    os.umask(0)
    result = operation(Workspace(view), request, connection, FrameReader(connection, rest))
    if result is not None:
        reply(connection, {"ok": True, **result})


def serve_one(connection, root):
    try:
        handle(connection, root)
    except Refused as refusal:
        reply(connection, {"ok": False, "error": refusal.kind, **refusal.extra})
    except OSError as error:
        name = errno.errorcode.get(error.errno or 0, "EIO")
        reply(connection, {"ok": False, "errno": name, "message": str(error)})
    except Exception as error:  # noqa: BLE001 - answer, never leave the server waiting
        reply(connection, {"ok": False, "error": "INTERNAL", "message": repr(error)})


def finish(connection):
    """Closes after the server has read the reply: unread input would make the close a reset,
    and the server could lose the reply with it."""
    connection.shutdown(socket.SHUT_WR)
    connection.settimeout(30)
    while connection.recv(CHUNK):
        pass
    connection.close()


def main():
    directory = sys.argv[1]
    # Dies with the server, and no same-uid process may read its memory.
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    root = os.path.join(directory, "root")
    os.makedirs(os.path.join(root, "workspace"), 0o755, exist_ok=True)
    os.chmod(root, 0o755)
    os.chmod(os.path.join(root, "workspace"), 0o755)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(os.path.join(directory, "socket"))
    # The server bounds its own concurrent requests well below this; the backlog only absorbs bursts.
    listener.listen(1024)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        try:
            connection, _ = listener.accept()
        except InterruptedError:
            continue
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                listener.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                serve_one(connection, root)
                finish(connection)
            except BaseException:  # noqa: BLE001
                code = 1
            finally:
                os._exit(code)
        connection.close()


if __name__ == "__main__":
    main()
