"""A writer lock between processes: ``flock`` on a file beside the store file.

SQLite serialises writers of one file across processes by itself, but a writer that finds the
file locked waits in SQLite's busy handler, which polls: it sleeps 1, 2, 5, 10 ... 100 ms
between tries. A write transaction here lasts a fraction of a millisecond, so processes that
share a data directory spent most of their time asleep (20 sessions over 2 processes ran
slower than in one). Taking an exclusive ``flock`` around each write transaction makes the
next writer wake the moment the previous one commits. The busy handler still guards every
writer that does not take the lock (another program, an older version).

The lock file is ``.<store file name>.writer.lock``: never a store file, so its descriptor
cannot drop SQLite's fcntl locks on the store (``sqlite_db``), and it holds no data. Where it
cannot be created (a read-only directory), writes go without it: correctness never depends on
it. The kernel releases a ``flock`` when its holder dies, so a killed writer blocks no one.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def lock_path(store_path: str) -> Path:
    path = Path(store_path)
    return path.with_name(f".{path.name}.writer.lock")


class WriterLock:
    """One per connection (so one per store file per process); the caller serialises the
    threads of its process, so only one of them waits here at a time."""

    def __init__(self, store_path: str) -> None:
        try:
            self._fd: int | None = os.open(lock_path(store_path), os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            self._fd = None

    @contextmanager
    def held(self) -> Iterator[None]:
        fd = self._fd
        if fd is None:
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # e.g. ENOLCK: SQLite's own locking still serialises the writers
            yield
            return
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
