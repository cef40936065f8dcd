"""How the harness builds a session_core service; mutants swap in subclasses (never edits)."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from session_core.agent import Agent
from session_core.checkpointer import StoreCheckpointer
from session_core.factory import Stores
from session_core.faults import FaultPoint
from session_core.projection import Projector
from session_core.service import SessionService
from session_core.stores.base import RuntimeStore, SessionStore
from session_core.stores.sqlite_batch import WriteRequest

RuntimeWrapper = Callable[[RuntimeStore, SessionStore], RuntimeStore]
RowWrapper = Callable[[SessionStore], SessionStore]
BatchRunner = Callable[[sqlite3.Connection, list[WriteRequest]], None]
"""Runs one batch in one transaction (``session_core.stores.sqlite_batch.run_batch``)."""
StoreOpener = Callable[[Path, FaultPoint], Stores]
"""Opens the SQLite stores of a data directory (default ``session_core.factory.sqlite_stores``)."""


def zero_clock() -> float:
    return 0.0


@dataclass(frozen=True)
class Core:
    """The classes a service is assembled from. The default is the unmodified session_core."""

    name: str = "session_core"
    service_cls: type[SessionService] = SessionService
    projector_cls: type[Projector] = Projector
    checkpointer_cls: type[StoreCheckpointer] = StoreCheckpointer
    wrap_runtime: RuntimeWrapper | None = None
    open_sqlite: StoreOpener | None = None
    """How a process opens its SQLite stores (file-level mutants: lock drop, implicit init)."""
    batch_runner: BatchRunner | None = None
    """Commits one group-commit batch in a batched block (``harness.batches``; default
    session_core's ``run_batch``)."""

    def service(
        self,
        stores: Stores,
        faults: FaultPoint,
        *,
        runtime_backed: bool,
        agent: Agent,
        wrap_reads: RuntimeWrapper | None = None,
        wrap_row_reads: RowWrapper | None = None,
    ) -> SessionService:
        """``wrap_reads``: the harness's read-fault wrapper, outside any mutant's wrapper;
        ``wrap_row_reads`` the same for the row store of a runtime-less service (its
        authority)."""
        runtime: RuntimeStore | None = stores.runtime if runtime_backed else None
        sessions = stores.sessions
        if runtime is None and wrap_row_reads is not None:
            sessions = wrap_row_reads(sessions)
        if runtime is not None and self.wrap_runtime is not None:
            runtime = self.wrap_runtime(runtime, stores.sessions)
        if runtime is not None and wrap_reads is not None:
            runtime = wrap_reads(runtime, stores.sessions)
        projector = self.projector_cls(sessions, stores.audit, runtime, faults)
        checkpointer = self.checkpointer_cls(sessions, projector, runtime, faults)
        counter = itertools.count(1)
        return self.service_cls(
            sessions,
            stores.audit,
            runtime,
            agent=agent,
            projector=projector,
            checkpointer=checkpointer,
            faults=faults,
            clock=zero_clock,
            new_input_id=lambda: f"auto-{next(counter)}",
        )


CORRECT = Core()

__all__ = ["CORRECT", "BatchRunner", "Core", "RuntimeWrapper", "StoreOpener", "zero_clock"]
