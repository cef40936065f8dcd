"""Seeded integrity bugs (issue 13): each undoes one fix of the integrity work.

Memory-visible ones (``harness mutants`` kills them):

* ``FailedAfterSyncService``: a storage error that leaves an input's fate unknown is
  reported as a definite ``Failed`` (the answer before ``Indeterminate`` existed).
* ``FailedCreateService``: a create durable before its error was reported answers the
  definite ``Failed``.
* ``LeaseNeverExpiresRuntime``: a held run lease blocks every other run until recovery, even
  when its holder is dead or the lease expired.
* ``UncheckedDigestProjector``: a projection row that fails verification (checksum or
  decoding) is never quarantined and rebuilt from the authority.

Killed by ``tests/session_core/test_integrity_mutants.py`` (file-level ones do not exist
on the memory backend ``harness mutants`` uses; the retry scenario is not in the catalogue
until ``definite_failure_no_effect`` learns retries):

* ``RetryRunsAgainService``: a resend with the same input id is not looked up, so a retry
  after an ambiguous commit fails (or runs again) instead of returning the original outcome.

* ``LockDroppingDatabase``: the plain-Python magic check after a connection exists, whose
  close drops every fcntl lock of the process on the file.
* ``implicit_init_stores``: opening a directory without the identity check, so a missing or
  empty runtime file is silently initialised next to a projection that holds data.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.mutants.proxy import RuntimeProxy
from session_core.errors import SessionBusy, SessionCoreError
from session_core.factory import Stores
from session_core.faults import NO_FAULTS, FaultPoint
from session_core.outcomes import Failed, TurnOutcome
from session_core.projection import Projector
from session_core.service import SessionService
from session_core.stores.base import StoredRow
from session_core.stores.sqlite_db import SQLITE_MAGIC, SqliteDatabase


class FailedAfterSyncService(SessionService):
    """An unknown outcome (failed sync, failed undo) reported as a definite failure."""

    def indeterminate(
        self,
        session_id: str,
        run_id: str | None,
        input_id: str | None,
        cause: SessionCoreError,
    ) -> TurnOutcome:
        return Failed(session_id, run_id, cause)


class FailedCreateService(SessionService):
    """A create whose snapshot became durable before its error was reported answers the
    definite ``Failed`` (it never checks whether the create stands)."""

    def create_stands(self, session_id: str, snapshot: bytes) -> bool:
        return False


class RetryRunsAgainService(SessionService):
    """A resend of a known input id is treated as new (no lookup of its original outcome)."""

    def known_outcome(self, session_id: str, input_id: str, text: str) -> TurnOutcome | None:
        return None


class LeaseNeverExpiresRuntime(RuntimeProxy):
    """A held lease is never taken over: a dead holder blocks the session until recover."""

    def _refuse_held(self, session_id: str) -> None:
        holder = self.inner.active_run(session_id)
        if holder is not None:
            raise SessionBusy(f"run {holder} holds the lease", session_id=session_id)

    def begin_run(self, session_id: str, input_ids: Sequence[str]) -> str:
        self._refuse_held(session_id)
        return self.inner.begin_run(session_id, input_ids)

    def accept_and_begin(self, session_id: str, input_id: str, payload: str) -> str:
        self._refuse_held(session_id)
        return self.inner.accept_and_begin(session_id, input_id, payload)


class UncheckedDigestProjector(Projector):
    """A row failing verification is loaded as is: never quarantined, never rebuilt."""

    def load_verified(self, session_id: str) -> StoredRow | None:
        return self.sessions.load_row(session_id)


class LockDroppingDatabase(SqliteDatabase):
    """Reads the file header with a plain descriptor after connecting (the F1 defect)."""

    def _prepare(self, target: int) -> None:
        with Path(self.path).open("rb") as handle:
            if handle.read(len(SQLITE_MAGIC)) not in (SQLITE_MAGIC, b""):
                raise ValueError("not a SQLite database")
        super()._prepare(target)


def lock_dropping_stores(directory: str | Path, faults: FaultPoint = NO_FAULTS) -> Stores:
    """Stores whose every open runs the plain-descriptor check while the process already
    holds a connection to the file (the audit log opens sessions.sqlite3 a second time)."""
    from session_core.stores.sqlite import SqliteAuditLog, SqliteRuntimeStore, SqliteSessionStore
    from session_core.stores.sqlite_dir import RUNTIME_FILE, SESSIONS_FILE

    class Runtime(SqliteRuntimeStore):
        database_cls = LockDroppingDatabase

    class Sessions(SqliteSessionStore):
        database_cls = LockDroppingDatabase

    class Audit(SqliteAuditLog):
        database_cls = LockDroppingDatabase

    root = Path(directory)
    return Stores(
        Runtime(root / RUNTIME_FILE, faults),
        Sessions(root / SESSIONS_FILE, faults),
        Audit(root / SESSIONS_FILE, faults),
    )


def implicit_init_stores(directory: str | Path, faults: FaultPoint = NO_FAULTS) -> Stores:
    """Open each file on its own, creating what is missing (no pair check, no identity)."""
    from session_core.stores.sqlite import SqliteAuditLog, SqliteRuntimeStore, SqliteSessionStore
    from session_core.stores.sqlite_dir import RUNTIME_FILE, SESSIONS_FILE

    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    return Stores(
        SqliteRuntimeStore(root / RUNTIME_FILE, faults),
        SqliteSessionStore(root / SESSIONS_FILE, faults),
        SqliteAuditLog(root / SESSIONS_FILE, faults),
    )


__all__ = [
    "FailedAfterSyncService",
    "FailedCreateService",
    "LeaseNeverExpiresRuntime",
    "LockDroppingDatabase",
    "RetryRunsAgainService",
    "UncheckedDigestProjector",
    "implicit_init_stores",
    "lock_dropping_stores",
]
