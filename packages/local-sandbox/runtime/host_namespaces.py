"""Namespace steps shared by the host-side helpers (file-helper.py, workspace-holder.py); never run
inside a sandbox."""

import ctypes
import os

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_REC = 16384
MS_PRIVATE = 1 << 18

libc = ctypes.CDLL(None, use_errno=True)


def check(result, what):
    """Raises OSError with errno for a failed libc call."""
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, "%s: %s" % (what, os.strerror(number)))


def _write_file(path, text):
    with open(path, "w") as handle:
        handle.write(text)


def unshare_user_and_mounts():
    """A new user namespace (this uid mapped to itself) and mount namespace: without root they grant
    the mount and chroot rights, for this process only."""
    uid, gid = os.getuid(), os.getgid()
    check(libc.unshare(CLONE_NEWUSER | CLONE_NEWNS), "unshare")
    _write_file("/proc/self/setgroups", "deny")
    _write_file("/proc/self/uid_map", "%d %d 1" % (uid, uid))
    _write_file("/proc/self/gid_map", "%d %d 1" % (gid, gid))


def join_user_and_mounts(pid):
    """Joins the user and mount namespaces of `pid` (made by this user), then a private copy of the
    mount namespace, so that what this process mounts stays its own."""
    descriptors = [os.open("/proc/%d/ns/%s" % (pid, kind), os.O_RDONLY | os.O_CLOEXEC) for kind in ("user", "mnt")]
    try:
        check(libc.setns(descriptors[0], CLONE_NEWUSER), "setns user")
        check(libc.setns(descriptors[1], CLONE_NEWNS), "setns mnt")
    finally:
        for descriptor in descriptors:
            os.close(descriptor)
    check(libc.unshare(CLONE_NEWNS), "unshare")


def make_mounts_private():
    """Nothing mounted from here on propagates back to the namespace this one was copied from."""
    check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
