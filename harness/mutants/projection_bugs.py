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


__all__ = ["AppendOnlyProjector"]
