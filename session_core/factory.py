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
) -> Stores:
    """SQLite stores in ``directory``: ``runtime.sqlite`` + ``sessions.sqlite3`` by default,
    or one ``session_core.sqlite`` file for everything with ``shared_file=True``."""
    from session_core.stores.sqlite import (
        RUNTIME_FILE,
        SESSIONS_FILE,
        SqliteAuditLog,
        SqliteRuntimeStore,
        SqliteSessionStore,
    )

    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    runtime_path = root / ("session_core.sqlite" if shared_file else RUNTIME_FILE)
    sessions_path = root / ("session_core.sqlite" if shared_file else SESSIONS_FILE)
    runtime = SqliteRuntimeStore(runtime_path, faults)
    try:
        sessions = SqliteSessionStore(sessions_path, faults)
        audit = SqliteAuditLog(sessions_path, faults)
    except BaseException:
        runtime.close()
        raise
    return Stores(runtime, sessions, audit)


def sqlite_service(
    directory: str | Path,
    faults: FaultPoint = NO_FAULTS,
    *,
    shared_file: bool = False,
    runtime_backed: bool = True,
    **kwargs: Any,
) -> SessionService:
    """A service over the SQLite backend in ``directory``."""
    stores = sqlite_stores(directory, faults, shared_file=shared_file)
    runtime = stores.runtime if runtime_backed else None
    return SessionService(stores.sessions, stores.audit, runtime, faults=faults, **kwargs)
