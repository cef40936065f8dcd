"""Seeded historical bugs in the projector."""

from __future__ import annotations

from session_core.errors import ContinuityViolation
from session_core.model import HistoryStep, Session
from session_core.projection import Projector
from session_core.stores.base import StoredRow
from session_core.stores.guards import is_append_or_cleanup, same_rewrites


class AppendOnlyProjector(Projector):
    """bug-05: a plain append-only guard: a row can only be extended, so a valid compaction
    (rewrite chain) is rejected as a continuity violation forever."""

    def reachable(self, row: Session, target: Session, steps: list[HistoryStep]) -> bool:
        if row.revision == target.revision:
            return True
        appended = is_append_or_cleanup(row.messages, target.messages)
        return appended and same_rewrites(row.rewrites, target.rewrites)

    def on_diverged(self, row: StoredRow, target: Session) -> Session:
        raise ContinuityViolation(
            "append-only guard: transcript diverges from the stored row", session_id=target.id
        )


class QuarantineAnyRowProjector(Projector):
    """Quarantine deletes the unaudited row of every session, also a runtime-less one, whose
    row is its only copy (there is no authority to rebuild it from)."""

    def quarantine(self, session_id: str, token: str) -> None:
        self.faults.hit("project.quarantine", session_id)
        self.sessions.delete_if_current(session_id, token)


class AdoptingProjector(Projector):
    """A row ahead of or diverged from the authority is adopted as it is (never rebuilt)."""

    def on_diverged(self, row: StoredRow, target: Session) -> Session:
        return row.session


class KeepUnauditedRowProjector(Projector):
    """When completing a crashed rewrite's audit fails, the unaudited row is kept (no CAS
    rollback to the last audited row), so it stays unserved until some later recovery."""

    def rollback_row(self, row: StoredRow, last_audited: Session) -> None:
        return None


__all__ = [
    "AdoptingProjector",
    "AppendOnlyProjector",
    "KeepUnauditedRowProjector",
    "QuarantineAnyRowProjector",
]
