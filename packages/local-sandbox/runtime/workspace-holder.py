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

import os
import shutil
import signal
import sys

# -I leaves the script's own folder off sys.path; the shared namespace steps live there.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from host_namespaces import (  # noqa: E402
    check,
    join_user_and_mounts,
    libc,
    make_mounts_private,
    unshare_user_and_mounts,
)

MS_NOSUID = 2
MS_NODEV = 4
PR_SET_PDEATHSIG = 1


def main():
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
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
        join_user_and_mounts(join)
    else:
        unshare_user_and_mounts()
    make_mounts_private()
    pairs = arguments
    for index in range(0, len(pairs) - 1, 2):
        target, size = pairs[index], int(pairs[index + 1])
        options = ("size=%d,mode=0700" % size).encode()
        check(
            libc.mount(b"hopgen-sandbox", target.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options),
            "mount tmpfs on %s" % target,
        )
    for source, destination in copies:
        shutil.copytree(source, destination, symlinks=True)
    os.chdir("/")
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    # Only the namespaces must live on: sleep keeps them, with the parent-death signal, for a tenth
    # of the memory an idle Python holds.
    os.execv("/usr/bin/sleep", ["sleep", "infinity"])


if __name__ == "__main__":
    main()
