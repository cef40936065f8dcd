"""Convenience constructors: stores and services over the memory or SQLite backends."""

from __future__ import annotations

from dataclasses import dataclass
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
