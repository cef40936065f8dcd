"""Seeded historical bugs in the runtime store (wrappers around any backend)."""

from __future__ import annotations

from collections.abc import Mapping

from harness.mutants.proxy import RuntimeProxy
from session_core.codec import decode_session
from session_core.model import InputState, Receipt


class RowWritingRuntime(RuntimeProxy):
    """bug-09: the runtime commit writes the projection row itself (as a shared-file
    transaction did), bypassing continuity validation. With separate files the row write and
    the runtime commit are not one transaction."""

    def atomic_apply(
        self,
        session_id: str,
        snapshot: bytes,
        receipt: Receipt,
        input_updates: Mapping[str, InputState],
    ) -> None:
        row = self.sessions.load_row(session_id)
        doc = decode_session(snapshot)
        if row is not None and row.session.archived:
            doc = doc.with_lifecycle(row.session.lifecycle)
        self.sessions.save_if_current(doc, None if row is None else row.token)
        super().atomic_apply(session_id, snapshot, receipt, input_updates)


class BlindClearRuntime(RuntimeProxy):
    """bug-08: quarantine clears whatever snapshot is current instead of byte-CAS on the
    rejected one, so a newer commit that landed in between is lost."""

    def clear_snapshot_if_current(self, session_id: str, expected: bytes) -> bool:
        current = self.inner.load_snapshot(session_id)
        if current is None:
            return False
        return self.inner.clear_snapshot_if_current(session_id, current)


__all__ = ["BlindClearRuntime", "RowWritingRuntime"]
