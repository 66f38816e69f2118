"""Reads back what a run wrote to its output memfd, bounded.

A run's output can be far larger than a reply may carry (or sparse: `ftruncate` makes terabytes for
free), so only `limit` bytes are read: the head and, after a note, the last TAIL_BYTES. The tail is
kept because what a program prints last (its summary, its exit status) matters most, and the
executor's status line travels there.
"""

import os

TAIL_BYTES = 64 * 1024


def read_captured(fd, limit):
    """Decodes at most `limit` bytes of `fd` (head and tail) and closes nothing."""
    size = os.fstat(fd).st_size
    if size <= limit:
        return _read_at(fd, size, 0).decode("utf-8", errors="replace")
    tail_size = min(TAIL_BYTES, limit // 4)
    head = _read_at(fd, limit - tail_size, 0)
    tail = _read_at(fd, tail_size, size - tail_size)
    note = "\n[output truncated: %d bytes left out]\n" % (size - len(head) - len(tail))
    return head.decode("utf-8", errors="replace") + note + tail.decode("utf-8", errors="replace")


def _read_at(fd, count, offset):
    parts = []
    while count > 0:
        chunk = os.pread(fd, min(count, 1 << 20), offset)
        if not chunk:
            break
        parts.append(chunk)
        count -= len(chunk)
        offset += len(chunk)
    return b"".join(parts)
