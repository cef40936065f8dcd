"""Durable state for a run: the memory backend's ``MemoryDisk`` or real SQLite files.

Each backend can open stores (with the harness fault point), an observer (no faults) for
state capture, take and restore a durable snapshot (power loss), and damage files or rows for
the bad-input scenarios.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

from harness.commits import CommitRecorder, Images
from session_core.factory import Stores, memory_stores, sqlite_stores
from session_core.faults import NO_FAULTS, FaultPoint
from session_core.stores.memory import MemoryDisk

GARBAGE = b"this is not a database, it is a grocery list\n" * 40
UNDECODABLE = b'{"format": 1, "id": '


class Backend:
    name = ""

    def open(self, faults: FaultPoint) -> Stores:
        raise NotImplementedError

    def observer(self) -> Stores:
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

    def file_digest(self, file: str) -> str:
        return ""

    def cleanup(self) -> None:
        return None


class MemoryBackend(Backend):
    name = "memory"

    def __init__(self) -> None:
        self.disk = MemoryDisk()
        self._observer: Stores | None = None
        self._rows: dict[str, bytes | None] = {}

    def open(self, faults: FaultPoint) -> Stores:
        return memory_stores(self.disk, faults)

    def observer(self) -> Stores:
        if self._observer is None:
            self._observer = memory_stores(self.disk, NO_FAULTS)
        return self._observer

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

    def repair(self) -> None:
        with self.disk.lock:
            for sid, data in self._rows.items():
                if data is None:
                    self.disk.rows.pop(sid, None)
                else:
                    self.disk.rows[sid] = data
        self._rows.clear()


class SqliteBackend(Backend):
    name = "sqlite"
    files = {"runtime": "runtime.sqlite", "sessions": "sessions.sqlite3"}

    def __init__(self, base: str | None = None) -> None:
        root = base or os.environ.get("HARNESS_TMPDIR") or _default_tmp()
        self.dir = Path(tempfile.mkdtemp(prefix="harness-", dir=root))
        self._observer: Stores | None = None
        self._backups: dict[str, bytes | None] = {}
        self._rows: dict[str, bytes | None] = {}
        self.recorder = CommitRecorder({f: self.path(f) for f in self.files})

    def path(self, file: str) -> Path:
        return self.dir / self.files[file]

    def open(self, faults: FaultPoint) -> Stores:
        stores = sqlite_stores(self.dir, faults)
        self.recorder.attach(stores, faults)
        return stores

    def power_cut(self, kind: str, file: str) -> Images | None:
        return self.recorder.cut(kind, file)

    def observer(self) -> Stores:
        if self._observer is None:
            self._observer = sqlite_stores(self.dir, NO_FAULTS)
        return self._observer

    def close_observer(self) -> None:
        if self._observer is not None:
            self._observer.close()
            self._observer = None

    def _all_files(self) -> list[Path]:
        names = []
        for name in self.files.values():
            names += [name, f"{name}-wal"]
        return [self.dir / n for n in names]

    def snapshot(self) -> object:
        return {p: p.read_bytes() if p.exists() else None for p in self._all_files()}

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
            with sqlite3.connect(self.path("sessions")) as conn:
                for sid, data in self._rows.items():
                    conn.execute("UPDATE ss_rows SET row = ? WHERE session_id = ?", (data, sid))
            conn.close()
            self._rows.clear()

    def corrupt_row(self, session_id: str) -> None:
        with sqlite3.connect(self.path("sessions")) as conn:
            found = conn.execute(
                "SELECT row FROM ss_rows WHERE session_id = ?", (session_id,)
            ).fetchone()
            if session_id not in self._rows and found is not None:
                self._rows[session_id] = bytes(found[0])
            conn.execute(
                "UPDATE ss_rows SET row = ? WHERE session_id = ?", (UNDECODABLE, session_id)
            )
        conn.close()

    def file_digest(self, file: str) -> str:
        path = self.path(file)
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "missing"

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
    if data is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(data)


def _checkpoint(path: Path) -> None:
    """Fold the WAL into the main file so the file bytes are the whole database."""
    if not path.exists() or path.read_bytes()[:16] != b"SQLite format 3\x00":
        return
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def make_backend(name: str) -> Backend:
    if name == "memory":
        return MemoryBackend()
    if name == "sqlite":
        return SqliteBackend()
    raise ValueError(f"unknown backend {name!r}")


__all__ = ["Backend", "MemoryBackend", "SqliteBackend", "make_backend"]
