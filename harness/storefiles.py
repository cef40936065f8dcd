"""Reading store files' bytes without dropping this process's SQLite locks (issue 13 F1).

On POSIX, closing *any* descriptor of a file drops every fcntl lock the process holds on it;
another process may then take the lock SQLite relies on, checkpoint and delete the live WAL.
So while this process has a SQLite connection to a store file, the harness never opens a
descriptor of its own on it: it reads through the descriptors SQLite already holds (found in
``/proc/self/fd``, read with ``pread``, never closed). Without a connection (the process
crashed, the stores are closed) a plain read is safe: there is no lock to lose.
"""

from __future__ import annotations

import os
from pathlib import Path

from session_core.stores.sqlite_db import open_in_process

PROC_FD = Path("/proc/self/fd")
CHUNK = 1 << 20


class LiveFileUnreadable(RuntimeError):
    """A store file held by a live connection whose descriptor cannot be found (no /proc)."""


def read_bytes(path: Path, *, main: Path | None = None) -> bytes | None:
    """The bytes of ``path`` (``None`` if absent). ``main``: the database file ``path``
    belongs to (for its ``-wal``), whose live connection decides how to read."""
    if not path.exists():
        return None
    if not open_in_process(main or path):
        return path.read_bytes()
    fd = held_descriptor(path)
    if fd is None:
        if main is not None and main != path:
            # SQLite holds no lock on a -wal (its locks are on the main file and the -shm);
            # it opens the -wal lazily, so a plain read of one it has not opened yet is safe
            return path.read_bytes()
        raise LiveFileUnreadable(f"{path} is held by a live connection, no descriptor found")
    return _pread_all(fd)


def held_descriptor(path: Path) -> int | None:
    """A descriptor this process already has open on ``path`` (SQLite's), or ``None``."""
    want = os.path.realpath(path)
    try:
        entries = os.listdir(PROC_FD)
    except OSError:
        return None
    for entry in entries:
        try:
            target = os.readlink(PROC_FD / entry)
        except OSError:
            continue
        if target == want:
            return int(entry)
    return None


def _pread_all(fd: int) -> bytes:
    parts: list[bytes] = []
    offset = 0
    while True:
        chunk = os.pread(fd, CHUNK, offset)
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)
        offset += len(chunk)


def wal_of(path: Path) -> Path:
    return Path(f"{path}-wal")


__all__ = ["LiveFileUnreadable", "held_descriptor", "read_bytes", "wal_of"]
