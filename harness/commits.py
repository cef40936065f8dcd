"""Commit-level crash points of the SQLite backend (ALICE / CrashMonkey style).

The recorder wraps every write transaction of the harness's SQLite stores. After each COMMIT
it reads the connection's ``PRAGMA synchronous`` and passes two harness fault sites:

* ``sqlite.unsynced.<file>`` (only while some store file holds commits not yet synced);
* ``sqlite.commit.<file>`` (``file`` is ``runtime`` or ``sessions``).

So a crash can land between any two transactions, also between two transactions of one
store operation, which no ``<op>.before`` / ``<op>.after`` site separates. Three fault kinds
act there (``HarnessFaults`` arms them):

* ``crash``: the process dies right after the commit; every synced commit is durable;
* ``torn``: power fails while the commit is written: its last WAL frame (the commit frame)
  never reaches the disk, torn at a page boundary, so SQLite must discard the transaction;
* ``lost``: power fails and every write not yet synced is dropped, per file.

``sqlite.sync.<file>`` is the ``COMMIT`` statement itself, inside session_core's group commit
(``run_batch``): every file's group committer commits through ``FailingCommits``, and a
``commit-error`` rule there makes that ``COMMIT`` fail as a failed sync does, after SQLite
wrote its frames (here: the transaction is committed, then the error is raised), so every
member of the batch must be answered indeterminate. Those sites are never passed as hits
(not explored): ``HarnessFaults.commit_fails`` is asked at each ``COMMIT``.

Which writes are synced follows what SQLite promises for WAL mode: with ``synchronous`` FULL
or EXTRA the WAL is synced at every commit; with NORMAL or OFF commits are synced only by a
checkpoint, so they can all be lost, independently per file. Opening the stores again counts
as a sync point (conservative: a clean close checkpoints). The durable image of a file at its
first unsynced commit is reconstructed from the WAL, which only grows between checkpoints.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from harness.storefiles import read_bytes
from session_core.factory import Stores
from session_core.faults import FaultPoint
from session_core.stores.sqlite_db import SqliteDatabase

T = TypeVar("T")
COMMIT_SITES = ("sqlite.commit.runtime", "sqlite.commit.sessions")
UNSYNCED_SITES = ("sqlite.unsynced.runtime", "sqlite.unsynced.sessions")
BATCH_SITES = ("sqlite.batch.runtime", "sqlite.batch.sessions")
"""Inside a group-commit batch's transaction, after a member's writes (``harness.batches``)."""
HARNESS_SITES = frozenset({*COMMIT_SITES, *UNSYNCED_SITES, *BATCH_SITES})
SYNC_SITES = ("sqlite.sync.runtime", "sqlite.sync.sessions")
"""The ``COMMIT`` of a transaction or group-commit batch (``FailingCommits``; kind
``commit-error`` only)."""
SYNC_ERROR_TEXT = "disk I/O error (injected: the sync of this COMMIT failed after its frames)"
COMMIT_KINDS = ("torn", "lost")
"""Fault kinds that only mean something at the sites above."""
SYNC_FULL = 2
"""``PRAGMA synchronous`` value of FULL (EXTRA is 3): the WAL is synced at every commit."""
WAL_HEADER = 32
FRAME_HEADER = 24
Images = dict[Path, bytes | None]


BatchHook = Callable[
    [Callable[..., object], str, Callable[[sqlite3.Connection], Any], str | None, dict[str, bool]],
    Any,
]
"""Takes a write transaction over while a batched block runs: ``(plain transaction, file,
fn, session, options)`` (``harness.batches.BatchBarrier.transaction``)."""


@dataclass
class FileLog:
    """What the recorder knows about one store file since the stores were opened."""

    path: Path
    wal_size: int = 0
    """The WAL's size after the last commit."""
    durable: Images | None = None
    """The file as it was at its last sync, when commits since then are not synced."""


class FailingCommits:
    """The connection a file's group committer commits through (everything else passes to
    the real one). At each ``COMMIT`` it asks the fault point whether ``sqlite.sync.<file>``
    fails (``commit-error``): then the ``COMMIT`` runs (its frames are written and synced),
    and SQLite's disk I/O error is raised as a failed sync would report it."""

    def __init__(self, conn: sqlite3.Connection, recorder: CommitRecorder, name: str) -> None:
        self.conn = conn
        self.recorder = recorder
        self.name = name
        self.faults: FaultPoint | None = None
        self.failures = 0
        """``COMMIT`` statements failed so far (``harness.batches`` marks a batch's members)."""

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.conn, attr)

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql != "COMMIT" or not self._fails():
            return self.conn.execute(sql, *args)
        level = int(self.conn.execute("PRAGMA synchronous").fetchone()[0])
        self.conn.execute("COMMIT")
        self.recorder.committed(self.name, level >= SYNC_FULL)
        self.failures += 1
        note = getattr(self.faults, "note_commit_failed", None)
        if note is not None and self.recorder.barrier is None:  # a batch marks its members
            note()
        raise sqlite3.OperationalError(SYNC_ERROR_TEXT)

    def _fails(self) -> bool:
        fails = getattr(self.faults, "commit_fails", None)
        return fails is not None and bool(fails(f"sqlite.sync.{self.name}"))


@dataclass
class CommitRecorder:
    files: dict[str, Path]
    """``runtime`` / ``sessions`` -> database path."""
    logs: dict[str, FileLog] = field(default_factory=dict)
    databases: list[tuple[str, SqliteDatabase]] = field(default_factory=list)
    """The live stores' databases, by file (``harness.batches`` parks their writes)."""
    barrier: BatchHook | None = None
    """Set while a ``concurrent: {batch: true}`` block runs (``harness.batches``)."""

    def attach(self, stores: Stores, faults: FaultPoint) -> None:
        """Wrap the write transactions of freshly opened stores (a sync point)."""
        self.logs = {name: FileLog(path, _size(_wal(path))) for name, path in self.files.items()}
        self.databases = []
        for store, name in (
            (stores.runtime, "runtime"),
            (stores.sessions, "sessions"),
            (stores.audit, "sessions"),
        ):
            db = getattr(store, "db", None)
            if isinstance(db, SqliteDatabase):
                self.databases.append((name, db))
                db.transaction = self._wrap(db.transaction, name, faults)  # type: ignore[method-assign,assignment]
                self._fail_commits(db, name, faults)

    def _fail_commits(self, db: SqliteDatabase, name: str, faults: FaultPoint) -> None:
        """Let ``commit-error`` fail the ``COMMIT`` of this file's group committer (one per
        file per process: the stores of one file share it)."""
        committer = db._current().committer
        current: object = committer.conn
        proxy = current if isinstance(current, FailingCommits) else None
        if proxy is None:
            proxy = FailingCommits(committer.conn, self, name)
            committer.conn = proxy  # type: ignore[assignment]
        proxy.recorder, proxy.faults = self, faults

    def passed(self, name: str, session_id: str | None, faults: FaultPoint) -> None:
        """The sites after a COMMIT of file ``name`` (see the module docstring)."""
        if any(log.durable is not None for log in self.logs.values()):
            faults.hit(f"sqlite.unsynced.{name}", session_id)
        faults.hit(f"sqlite.commit.{name}", session_id)

    def _wrap(
        self, plain: Callable[..., object], name: str, faults: FaultPoint
    ) -> Callable[..., object]:
        def transaction(
            fn: Callable[[sqlite3.Connection], T], session_id: str | None, **options: bool
        ) -> T:
            barrier = self.barrier
            if barrier is not None:  # a batched block: the barrier commits and passes the sites
                return barrier(plain, name, fn, session_id, options)  # type: ignore[no-any-return]
            level: list[int] = []

            def body(conn: sqlite3.Connection) -> T:
                result = fn(conn)
                level.append(int(conn.execute("PRAGMA synchronous").fetchone()[0]))
                return result

            result: T = plain(body, session_id, **options)  # type: ignore[assignment]
            # sync=False (accept, in-run checkpoints) commits without an fsync: unsynced until
            # the file's next synced commit, whatever the connection's own level.
            self.committed(name, level[0] >= SYNC_FULL and options.get("sync", True))
            self.passed(name, session_id, faults)
            return result

        return transaction

    def committed(self, name: str, synced: bool) -> None:
        log = self.logs[name]
        before, size = log.wal_size, _size(_wal(log.path))
        log.wal_size = size
        if synced or size < before:  # synced, or a checkpoint reset the WAL (a sync)
            log.durable = None
        elif log.durable is None:  # read through SQLite's descriptors (``harness.storefiles``)
            wal = read_bytes(_wal(log.path), main=log.path) or b""
            log.durable = {log.path: read_bytes(log.path), _wal(log.path): wal[:before] or None}

    def cut(self, kind: str, name: str) -> Images | None:
        """The durable files after a power cut of ``kind`` at a commit of ``name``."""
        if kind == "lost":
            images: Images = {}
            for log in self.logs.values():
                images.update(log.durable or {})
            return images or None
        if kind == "torn":
            return self._torn(self.logs[name])
        return None

    def _torn(self, log: FileLog) -> Images | None:
        wal = read_bytes(_wal(log.path), main=log.path) or b""
        if len(wal) < WAL_HEADER:
            return None
        frame = FRAME_HEADER + int.from_bytes(wal[8:12], "big")
        start = len(wal) - frame
        if start < WAL_HEADER or (start - WAL_HEADER) % frame:
            return None
        header = wal[start : start + FRAME_HEADER]
        is_commit = int.from_bytes(header[4:8], "big") != 0
        if not is_commit or header[8:16] != wal[16:24]:  # not this WAL's latest commit frame
            return None
        return {_wal(log.path): wal[:start]}


def _wal(path: Path) -> Path:
    return Path(f"{path}-wal")


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


__all__ = [
    "BATCH_SITES",
    "COMMIT_KINDS",
    "COMMIT_SITES",
    "HARNESS_SITES",
    "SYNC_SITES",
    "UNSYNCED_SITES",
    "CommitRecorder",
    "FailingCommits",
    "Images",
]
