"""Store protocols: the runtime store (authority), the session store (projection), the audit log.

Every durable operation passes the fault points ``<store>.<op>.before`` (nothing written yet)
and ``<store>.<op>.after`` (durable, not yet returned); see ``session_core.faults.SITES``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from session_core.model import (
    InputRecord,
    InputState,
    Lifecycle,
    Receipt,
    RewriteCommit,
    RuntimeState,
    Session,
)


@dataclass(frozen=True)
class StoredRow:
    """A projection row: the decoded session, its bytes and its CAS token."""

    session: Session
    data: bytes
    token: str


@dataclass(frozen=True)
class RowSummary:
    session_id: str
    revision: str
    message_count: int
    lifecycle: Lifecycle
    token: str


@dataclass(frozen=True)
class AuditEvent:
    """The audit record of rewrite number ``index`` of a session's retained history."""

    session_id: str
    index: int
    parent_revision: str
    revision: str
    reason: str
    commit_digest: str

    @classmethod
    def for_commit(cls, session_id: str, index: int, commit: RewriteCommit) -> AuditEvent:
        return cls(
            session_id, index, commit.parent_revision, commit.revision, commit.reason, commit.digest
        )


@runtime_checkable
class RuntimeStore(Protocol):
    """The authority. ``location`` names the file (or ``<memory>``) in errors."""

    location: str

    def create(self, session_id: str, snapshot: bytes) -> None:
        """First committed snapshot. ``SessionExists`` if the id is taken."""

    def accept_input(self, session_id: str, input_id: str, payload: str) -> None:
        """Durably accept an input (state ``accepted``). Idempotent for the same payload."""

    def begin_run(self, session_id: str, input_ids: Sequence[str]) -> str:
        """Take the session's run lease and allocate a never-reused run id (``SessionBusy``)."""

    def accept_and_begin(self, session_id: str, input_id: str, payload: str) -> str:
        """``accept_input`` then ``begin_run`` for that input, as one transaction (all or
        nothing): a turn's first write. Passes the fault sites of both operations."""

    def record_checkpoint(self, receipt: Receipt, tail: bytes) -> None:
        """Provisional in-run checkpoint: a checkpoint receipt plus the provisional tail."""

    def atomic_apply(
        self,
        session_id: str,
        snapshot: bytes,
        receipt: Receipt,
        input_updates: Mapping[str, InputState],
    ) -> None:
        """Run-boundary commit: snapshot + terminal receipt + input updates, all or nothing."""

    def commit_lifecycle(
        self,
        session_id: str,
        run_id: str | None,
        state: RuntimeState | None,
        input_updates: Mapping[str, InputState],
    ) -> None:
        """Failed/cancelled run: runtime state and input states only; no snapshot, no receipt."""

    def retire(self, session_id: str) -> None:
        """Runtime state ``retired`` (idempotent). Later commits are refused."""

    def load_snapshot(self, session_id: str) -> bytes | None: ...

    def receipts(self, session_id: str) -> list[Receipt]:
        """All receipts in commit order."""

    def inputs(self, session_id: str) -> list[InputRecord]:
        """All inputs in acceptance order."""

    def runtime_state(self, session_id: str) -> RuntimeState | None: ...

    def active_run(self, session_id: str) -> str | None: ...

    def provisional(self, session_id: str) -> list[tuple[Receipt, bytes]]:
        """Provisional checkpoint tails of the active run."""

    def clear_snapshot_if_current(self, session_id: str, expected: bytes) -> bool:
        """Byte compare-and-swap clear: only if the stored snapshot is exactly ``expected``."""

    def replace_snapshot_if_current(self, session_id: str, expected: bytes, new: bytes) -> bool:
        """Byte compare-and-swap replace."""

    def session_ids(self) -> list[str]: ...

    def close(self) -> None: ...


@runtime_checkable
class SessionStore(Protocol):
    """The compatibility projection: one session document per row."""

    location: str

    def load(self, session_id: str) -> Session | None: ...

    def load_row(self, session_id: str) -> StoredRow | None: ...

    def list(self) -> list[RowSummary]: ...

    def save(self, session: Session) -> None:
        """Accepted shapes only: same revision, strict append, transient-notice cleanup.

        Creates the row if missing. ``MonotonicityViolation`` / ``ContinuityViolation``
        otherwise; ``SessionArchived`` for an Active document over an Archived row.
        """

    def save_rewrite(self, session: Session, commit: RewriteCommit) -> None:
        """Apply one rewrite commit on top of the stored head (``RevisionConflict`` if stale)."""

    def save_if_current(self, session: Session, expected_token: str | None) -> bool:
        """CAS write; ``None`` means the row must not exist. False (row untouched) if stale."""

    def delete_if_current(self, session_id: str, token: str) -> bool:
        """CAS delete. False (row untouched) if the token is stale."""

    def close(self) -> None: ...


@runtime_checkable
class AuditLog(Protocol):
    """Append-only audit events for rewrite commits."""

    location: str

    def append(self, event: AuditEvent) -> None:
        """Idempotent for an identical event; ``AuditConflict`` if index is taken by another."""

    def events(self, session_id: str) -> list[AuditEvent]: ...

    def close(self) -> None: ...
