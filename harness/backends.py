"""Durable state for a run: the memory backend's ``MemoryDisk`` or real SQLite files.

Each backend can open stores (with the harness fault point), an observer (no faults) for
state capture, take and restore a durable snapshot (power loss), and damage files or rows for
the bad-input scenarios.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3
import tempfile
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from pathlib import Path

from harness.batches import batched
from harness.commits import CommitRecorder, Images
from harness.core import BatchRunner, StoreOpener
from harness.storefiles import read_bytes, wal_of
from session_core.errors import SessionCoreError
from session_core.factory import Stores, memory_stores, sqlite_stores
from session_core.faults import NO_FAULTS, FaultPoint
from session_core.stores.memory import MemoryDisk
from session_core.stores.sqlite_db import SqliteDatabase, open_in_process

GARBAGE = b"this is not a database, it is a grocery list\n" * 40
UNDECODABLE = b'{"format": 1, "id": '


class Backend:
    name = ""

    def open(self, faults: FaultPoint) -> Stores:
        raise NotImplementedError

    def observer(self) -> Stores:
        raise NotImplementedError

    def open_other(self) -> Stores:
        """Stores of another process over the same durable state, without faults (a second
        writer; on SQLite they share this process's connections, one per file)."""
        raise NotImplementedError

    def close_observer(self) -> None:
        return None

    def snapshot(self) -> object:
        raise NotImplementedError

    def restore(self, snap: object) -> None:
        raise NotImplementedError

    def power_cut(self, kind: str, file: str) -> Images | None:
        """The durable files after a ``torn`` / ``lost`` cut at a commit (SQLite only)."""
        return None

    def corrupt(self, file: str, how: str) -> str:
        raise NotImplementedError(f"the {self.name} backend has no files to corrupt")

    def repair(self) -> None:
        """Put back every file damaged by ``corrupt`` (the operator restores a backup)."""

    def corrupt_row(self, session_id: str) -> None:
        raise NotImplementedError

    def plant_snapshot(self, session_id: str, data: bytes) -> bytes | None:
        """Replace a session's committed runtime snapshot by ``data`` behind the store's back
        (repaired by ``repair``); the bytes it replaced."""
        raise NotImplementedError(f"the {self.name} backend cannot plant a snapshot")

    def file_digest(self, file: str) -> str:
        return ""

    def unlocked_files(self) -> tuple[str, ...]:
        """Store files whose locks this process lost (files only, see ``SqliteBackend``)."""
        return ()

    def batching(
        self, faults: FaultPoint, participants: int, runner: BatchRunner | None
    ) -> AbstractContextManager[object]:
        """Group-commit batches formed deterministically for a batched block (SQLite only:
        the memory backend has no transactions to share)."""
        return nullcontext()

    def cleanup(self) -> None:
        return None


class MemoryBackend(Backend):
    name = "memory"

    def __init__(self) -> None:
        self.disk = MemoryDisk()
        self._observer: Stores | None = None
        self._rows: dict[str, bytes | None] = {}
        self._snapshots: dict[str, tuple[bytes | None, bytes]] = {}
        """Planted snapshots: the bytes each replaced, and the planted bytes."""

    def open(self, faults: FaultPoint) -> Stores:
        return memory_stores(self.disk, faults)

    def observer(self) -> Stores:
        if self._observer is None:
            self._observer = memory_stores(self.disk, NO_FAULTS)
        return self._observer

    def open_other(self) -> Stores:
        return memory_stores(self.disk, NO_FAULTS)

    def snapshot(self) -> object:
        d = self.disk
        with d.lock:
            return (
                dict(d.runtime),
                dict(d.receipts),
                {k: dict(v) for k, v in d.inputs.items()},
                dict(d.tails),
                dict(d.rows),
                dict(d.audit),
            )

    def restore(self, snap: object) -> None:
        assert isinstance(snap, tuple)
        runtime, receipts, inputs, tails, rows, audit = snap
        d = self.disk
        with d.lock:
            d.runtime, d.receipts, d.tails = dict(runtime), dict(receipts), dict(tails)
            d.inputs = {k: dict(v) for k, v in inputs.items()}
            d.rows, d.audit = dict(rows), dict(audit)

    def corrupt_row(self, session_id: str) -> None:
        with self.disk.lock:
            self._rows.setdefault(session_id, self.disk.rows.get(session_id))
            self.disk.rows[session_id] = UNDECODABLE

    def plant_snapshot(self, session_id: str, data: bytes) -> bytes | None:
        with self.disk.lock:
            record = self.disk.runtime.get(session_id)
            if record is None:
                return None
            original = self._snapshots.get(session_id, (record.snapshot, data))[0]
            self._snapshots[session_id] = (original, data)
            self.disk.runtime[session_id] = replace(record, snapshot=data)
            return record.snapshot

    def repair(self) -> None:
        with self.disk.lock:
            for sid, (original, planted) in self._snapshots.items():
                found = self.disk.runtime.get(sid)
                if found is not None and found.snapshot == planted:  # the rest as it is now
                    self.disk.runtime[sid] = replace(found, snapshot=original)
            self._snapshots.clear()
            for sid, data in self._rows.items():
                if data is None:
                    self.disk.rows.pop(sid, None)
                else:
                    self.disk.rows[sid] = data
        self._rows.clear()


class SqliteBackend(Backend):
    name = "sqlite"
    files = {"runtime": "runtime.sqlite", "sessions": "sessions.sqlite3"}

    def __init__(self, base: str | None = None, opener: StoreOpener | None = None) -> None:
        root = base or os.environ.get("HARNESS_TMPDIR") or _default_tmp()
        self.opener: StoreOpener = opener or sqlite_stores
        self.dir = Path(tempfile.mkdtemp(prefix="harness-", dir=root))
        self._observer: Stores | None = None
        self._backups: dict[str, bytes | None] = {}
        self._rows: dict[str, bytes | None] = {}
        self.recorder = CommitRecorder({f: self.path(f) for f in self.files})

    def path(self, file: str) -> Path:
        return self.dir / self.files[file]

    def open(self, faults: FaultPoint) -> Stores:
        stores = self.opener(self.dir, faults)
        self.recorder.attach(stores, faults)
        return stores

    def power_cut(self, kind: str, file: str) -> Images | None:
        return self.recorder.cut(kind, file)

    def open_other(self) -> Stores:
        return self.opener(self.dir, NO_FAULTS)

    def batching(
        self, faults: FaultPoint, participants: int, runner: BatchRunner | None
    ) -> AbstractContextManager[object]:
        return batched(self.recorder, faults, participants, runner)

    def observer(self) -> Stores:
        """The harness's view of the files (never creates one: ``mode="open"``); it shares
        the live process's connections (one connection per file per process)."""
        if self._observer is None:
            self._observer = sqlite_stores(self.dir, NO_FAULTS, mode="open")
        return self._observer

    def unlocked_files(self) -> tuple[str, ...]:
        """Store files this process has a SQLite connection to but holds no fcntl lock on
        (``/proc/locks``; empty elsewhere): a descriptor closed beside the connection dropped
        them, and another process could delete the live WAL (issue 13 F1, bug-31)."""
        missing = self._unlocked()
        if missing and self._observer is not None:
            # Read once more through the process's connection and look again: SQLite takes its
            # lock back at a read if it knows it has none, so only a lock that SQLite believes
            # it holds but the kernel dropped (a closed descriptor) is still missing then.
            with contextlib.suppress(SessionCoreError):  # a damaged row: the lock is taken
                self._observer.runtime.session_ids()
                self._observer.sessions.list()
            missing = self._unlocked()
        return missing

    def _unlocked(self) -> tuple[str, ...]:
        held = locked_inodes(os.getpid())
        if held is None:
            return ()
        missing = []
        for file in self.files:
            path = self.path(file)
            try:
                inode = os.stat(path).st_ino
            except FileNotFoundError:
                continue
            if open_in_process(path) and inode not in held:
                missing.append(file)
        return tuple(missing)

    def close_observer(self) -> None:
        if self._observer is not None:
            self._observer.close()
            self._observer = None

    def _all_files(self) -> list[tuple[Path, Path]]:
        """Each database file and its ``-wal``, with the database file they belong to."""
        found = []
        for name in self.files.values():
            main = self.dir / name
            found += [(main, main), (wal_of(main), main)]
        return found

    def snapshot(self) -> object:
        """Every store file's bytes, read through SQLite's own descriptors while the stores
        are live (``harness.storefiles``: no descriptor of ours is closed on a locked file)."""
        return {p: read_bytes(p, main=main) for p, main in self._all_files()}

    def restore(self, snap: object) -> None:
        assert isinstance(snap, dict)
        self.close_observer()
        for path, data in snap.items():
            _put(path, data)
        for name in self.files.values():
            (self.dir / f"{name}-shm").unlink(missing_ok=True)

    def corrupt(self, file: str, how: str) -> str:
        self.close_observer()
        path = self.path(file)
        _checkpoint(path)
        if file not in self._backups:
            self._backups[file] = path.read_bytes() if path.exists() else None
        if how == "garbage":
            path.write_bytes(GARBAGE)
        elif how in ("missing", "empty"):  # a lost or truncated file (bug-34, issue 13 F3)
            path.unlink(missing_ok=True)
            if how == "empty":
                path.write_bytes(b"")
        elif how == "foreign":
            path.unlink(missing_ok=True)
            with sqlite3.connect(path) as conn:
                conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
                conn.execute("INSERT INTO customers (name) VALUES ('ada')")
            conn.close()
        else:
            with sqlite3.connect(path) as conn:
                conn.execute("UPDATE schema_version SET version = 99")
            conn.close()
            _checkpoint(path)
        return self.file_digest(file)

    def repair(self) -> None:
        self.close_observer()
        for file, data in self._backups.items():
            path = self.path(file)
            _put(path, data)
            for suffix in ("-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        self._backups.clear()
        if self._rows:
            rows, self._rows = self._rows, {}
            for sid, data in rows.items():
                self._write_row(sid, data)

    def _write_row(self, session_id: str, data: bytes | None) -> bytes | None:
        """Replace a row's bytes through the process's own connection to the sessions file
        (the observer shares it: one connection per file per process); the old bytes."""
        db = _database(self.observer().sessions)

        def put(conn: sqlite3.Connection) -> bytes | None:
            found = conn.execute(
                "SELECT row FROM ss_rows WHERE session_id = ?", (session_id,)
            ).fetchone()
            conn.execute("UPDATE ss_rows SET row = ? WHERE session_id = ?", (data, session_id))
            return None if found is None else bytes(found[0])

        return db.transaction(put, session_id)

    def corrupt_row(self, session_id: str) -> None:
        old = self._write_row(session_id, UNDECODABLE)
        if session_id not in self._rows and old is not None:
            self._rows[session_id] = old

    def file_digest(self, file: str) -> str:
        path = self.path(file)
        data = read_bytes(path)
        return "missing" if data is None else hashlib.sha256(data).hexdigest()

    def cleanup(self) -> None:
        self.close_observer()
        shutil.rmtree(self.dir, ignore_errors=True)


def _default_tmp() -> str | None:
    """``/dev/shm`` (tmpfs: real files, no disk flush wait) when usable, else the system tmp."""
    shm = Path("/dev/shm")  # noqa: S108 (only a parent for a private mkdtemp)  # nosec B108
    if shm.is_dir() and os.access(shm, os.W_OK):
        return str(shm)
    return None


def _put(path: Path, data: bytes | None) -> None:
    """Rewrite a store file (``-wal``) from the outside: only with no connection of this
    process to it (the world closes its stores first; our descriptor cannot drop its locks)."""
    main = Path(str(path).removesuffix("-wal"))
    assert not open_in_process(main), f"{main} is held by a live store"
    if data is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(data)


def _database(store: object) -> SqliteDatabase:
    db = getattr(store, "db", None)
    assert isinstance(db, SqliteDatabase), store
    return db


def _checkpoint(path: Path) -> None:
    """Fold the WAL into the main file so the file bytes are the whole database. Only with
    no connection of this process to the file (``corrupt`` closes the stores first): its own
    connection here cannot drop locks nobody holds."""
    assert not open_in_process(path), f"{path} is held by a live store"
    if not path.exists() or path.read_bytes()[:16] != b"SQLite format 3\x00":
        return
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def locked_inodes(pid: int) -> set[int] | None:
    """Inodes on which ``pid`` holds a POSIX (fcntl) lock; ``None`` without ``/proc/locks``."""
    try:
        text = Path("/proc/locks").read_text()
    except OSError:
        return None
    inodes = set()
    for line in text.splitlines():
        fields = line.split()  # "1: POSIX  ADVISORY  READ 1234 08:01:5678 1073741824 1073741825"
        if len(fields) > 5 and fields[1] == "POSIX" and fields[4] == str(pid):
            inodes.add(int(fields[5].split(":")[-1]))
    return inodes


def make_backend(name: str, opener: StoreOpener | None = None) -> Backend:
    """``opener``: how the process opens SQLite stores (a core's ``open_sqlite``)."""
    if name == "memory":
        return MemoryBackend()
    if name == "sqlite":
        return SqliteBackend(opener=opener)
    raise ValueError(f"unknown backend {name!r}")


__all__ = ["Backend", "MemoryBackend", "SqliteBackend", "locked_inodes", "make_backend"]
