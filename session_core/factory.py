"""Convenience constructors: stores and services over the memory or SQLite backends."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from session_core.faults import NO_FAULTS, FaultPoint
from session_core.service import SessionService
from session_core.stores.base import AuditLog, RuntimeStore, SessionStore
from session_core.stores.memory import (
    MemoryAuditLog,
    MemoryDisk,
    MemoryRuntimeStore,
    MemorySessionStore,
)
from session_core.stores.sqlite_db import OpenMode


@dataclass
class Stores:
    runtime: RuntimeStore
    sessions: SessionStore
    audit: AuditLog

    def close(self) -> None:
        self.runtime.close()
        self.sessions.close()
        self.audit.close()


def memory_stores(disk: MemoryDisk, faults: FaultPoint = NO_FAULTS) -> Stores:
    """New store objects over ``disk`` (call again on the same disk to 'restart')."""
    return Stores(
        MemoryRuntimeStore(disk, faults),
        MemorySessionStore(disk, faults),
        MemoryAuditLog(disk, faults),
    )


def memory_service(
    disk: MemoryDisk | None = None,
    faults: FaultPoint = NO_FAULTS,
    *,
    runtime_backed: bool = True,
    **kwargs: Any,
) -> SessionService:
    """A service over the memory backend. ``runtime_backed=False``: runtime-less mode."""
    stores = memory_stores(disk if disk is not None else MemoryDisk(), faults)
    runtime = stores.runtime if runtime_backed else None
    return SessionService(stores.sessions, stores.audit, runtime, faults=faults, **kwargs)


def sqlite_stores(
    directory: str | Path,
    faults: FaultPoint = NO_FAULTS,
    *,
    shared_file: bool = False,
    mode: OpenMode = "create",
) -> Stores:
    """SQLite stores in ``directory``: ``runtime.sqlite`` + ``sessions.sqlite3`` by default,
    or one ``session_core.sqlite`` file for everything with ``shared_file=True``.

    ``mode``: ``create`` initialises a directory whose files are both absent or empty (the
    first ``create``); ``open`` requires initialised files (``StoreNotInitialized``);
    ``read-only`` also never writes (``status``). In every mode the pair is checked first
    (``session_core.stores.sqlite_dir``): a missing, empty, foreign or swapped file next to
    one that holds data is refused, and so is a ``-wal`` that does not belong."""
    from session_core.stores.sqlite_dir import (
        Layout,
        check_root,
        directory_lock,
        expected_identities,
        fresh,
    )

    layout = Layout(Path(directory), shared_file)
    check_root(layout.root, mode)
    with directory_lock(layout.root, exclusive=False, create=mode == "create"):
        expected = expected_identities(layout, mode)
    if expected is None:
        if mode != "create":
            from session_core.errors import StoreNotInitialized

            raise StoreNotInitialized(
                f"no session_core data in {layout.root}",
                files=layout.files(),
                advice=f"run `session-core init --data {layout.root}` (or create a session)",
            )
        with directory_lock(layout.root, exclusive=True, create=True):
            expected = expected_identities(layout, mode) or fresh(layout)
            return _open_stores(layout, faults, mode, expected)
    return _open_stores(layout, faults, mode, expected)


def _open_stores(layout: Any, faults: FaultPoint, mode: OpenMode, expected: Any) -> Stores:
    from session_core.stores.sqlite import SqliteAuditLog, SqliteRuntimeStore, SqliteSessionStore

    plan = (
        (SqliteRuntimeStore, layout.runtime, expected.runtime),
        (SqliteSessionStore, layout.sessions, expected.sessions),
        (SqliteAuditLog, layout.sessions, expected.sessions),
    )
    opened: list[Any] = []
    try:
        for store_cls, path, identity in plan:
            opened.append(
                store_cls(path, faults, mode=mode, identity=identity, shared_layout=layout.shared)
            )
    except BaseException:
        for store in opened:
            store.close()
        raise
    runtime, sessions, audit = opened
    return Stores(runtime, sessions, audit)


def init_directory(directory: str | Path, *, shared_file: bool = False) -> str:
    """``session-core init``: create the stores of an empty directory, or the missing (empty)
    projection file of a directory whose authority holds data; migrate files that predate
    identities. Returns what was done. Never replaces a file that holds data."""
    from session_core.errors import MissingStoreFile
    from session_core.stores.sqlite_dir import (
        Layout,
        check_root,
        directory_lock,
        expected_identities,
        fresh,
        has_data,
        init_projection,
    )

    layout = Layout(Path(directory), shared_file)
    check_root(layout.root, "create")
    with directory_lock(layout.root, exclusive=True, create=True):
        try:
            expected = expected_identities(layout, "create")
            done = "already initialised"
        except MissingStoreFile:
            if not has_data(layout.runtime):
                raise
            expected = init_projection(layout)
            done = f"created an empty projection file {layout.sessions}"
        if expected is None:
            expected = fresh(layout)
            done = f"initialised {', '.join(layout.files())}"
        elif expected.assign and done == "already initialised":
            done = "migrated the files to data directory identities"
        _open_stores(layout, NO_FAULTS, "create", expected).close()
    return done


def sqlite_service(
    directory: str | Path,
    faults: FaultPoint = NO_FAULTS,
    *,
    shared_file: bool = False,
    runtime_backed: bool = True,
    mode: OpenMode = "create",
    **kwargs: Any,
) -> SessionService:
    """A service over the SQLite backend in ``directory`` (``mode``: see ``sqlite_stores``)."""
    stores = sqlite_stores(directory, faults, shared_file=shared_file, mode=mode)
    runtime = stores.runtime if runtime_backed else None
    return SessionService(stores.sessions, stores.audit, runtime, faults=faults, **kwargs)
