"""Holds the workspace of one sandbox when the server is not root (rootless mode).

Without root the server cannot mount anything on the host, and each spawn of a sandbox is a fresh
bwrap, so a tmpfs made by one bwrap would vanish with it. This process makes a user namespace (the
server's uid mapped to itself) and a mount namespace, mounts a size-capped tmpfs on each TARGET given
(host paths of empty directories; the host keeps seeing them empty), and then only waits. Every spawn
of the sandbox enters these two namespaces before bwrap, and the file helper enters them to reach
the workspace, so files persist across spawns while no host mount exists. When this process dies (the
sandbox is destroyed, or the server dies: PR_SET_PDEATHSIG), the namespaces and the tmpfs pages go.

The server keeps one more holder of its own (the shared one): its tmpfs holds a copy of the files
every sandbox binds read-only (`/etc`, `/opt/hopgen`), so that inside a sandbox /proc/self/mountinfo
shows them as the roots of a tmpfs, not as host paths. Each sandbox's holder joins the shared one's
namespaces (--join) and makes its own mount namespace below them.

Usage: workspace-holder.py [--join PID] [--copy SOURCE DESTINATION]... TARGET SIZE_BYTES [TARGET SIZE_BYTES ...].
Copies run after the mounts. Writes "ready" on stdout.
"""

import ctypes
import os
import shutil
import signal
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_NOSUID = 2
MS_NODEV = 4
MS_REC = 16384
MS_PRIVATE = 1 << 18
PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, "%s: %s" % (what, os.strerror(number)))


def _write_file(path, text):
    with open(path, "w") as handle:
        handle.write(text)


def main():
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # The server may already be gone between its spawn and the prctl above.
    if os.getppid() == 1:
        sys.exit(1)
    arguments = sys.argv[1:]
    join = None
    copies = []
    while arguments and arguments[0] in ("--join", "--copy"):
        if arguments[0] == "--join":
            join, arguments = int(arguments[1]), arguments[2:]
        else:
            copies.append((arguments[1], arguments[2]))
            arguments = arguments[3:]
    if join is not None:
        descriptors = [os.open("/proc/%d/ns/%s" % (join, kind), os.O_RDONLY) for kind in ("user", "mnt")]
        _check(_libc.setns(descriptors[0], CLONE_NEWUSER), "setns user")
        _check(_libc.setns(descriptors[1], CLONE_NEWNS), "setns mnt")
        for descriptor in descriptors:
            os.close(descriptor)
        _check(_libc.unshare(CLONE_NEWNS), "unshare")
    else:
        uid, gid = os.getuid(), os.getgid()
        _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS), "unshare")
        _write_file("/proc/self/setgroups", "deny")
        _write_file("/proc/self/uid_map", "%d %d 1" % (uid, uid))
        _write_file("/proc/self/gid_map", "%d %d 1" % (gid, gid))
    _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    pairs = arguments
    for index in range(0, len(pairs) - 1, 2):
        target, size = pairs[index], int(pairs[index + 1])
        options = ("size=%d,mode=0700" % size).encode()
        _check(
            _libc.mount(b"hopgen-sandbox", target.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options),
            "mount tmpfs on %s" % target,
        )
    for source, destination in copies:
        shutil.copytree(source, destination, symlinks=True)
    os.chdir("/")
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
