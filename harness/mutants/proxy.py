"""A delegating RuntimeStore, so store-level mutants can change one operation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from session_core.model import InputRecord, InputState, Receipt, RuntimeState
from session_core.stores.base import RuntimeStore, SessionStore


class RuntimeProxy:
    def __init__(self, inner: RuntimeStore, sessions: SessionStore) -> None:
        self.inner = inner
        self.sessions = sessions
        self.location = inner.location

    def create(self, session_id: str, snapshot: bytes) -> None:
        self.inner.create(session_id, snapshot)

    def accept_input(self, session_id: str, input_id: str, payload: str) -> None:
        self.inner.accept_input(session_id, input_id, payload)

    def begin_run(self, session_id: str, input_ids: Sequence[str]) -> str:
        return self.inner.begin_run(session_id, input_ids)

    def accept_and_begin(self, session_id: str, input_id: str, payload: str) -> str:
        return self.inner.accept_and_begin(session_id, input_id, payload)

    def record_checkpoint(self, receipt: Receipt, tail: bytes) -> None:
        self.inner.record_checkpoint(receipt, tail)

    def atomic_apply(
        self,
        session_id: str,
        snapshot: bytes,
        receipt: Receipt,
        input_updates: Mapping[str, InputState],
    ) -> None:
        self.inner.atomic_apply(session_id, snapshot, receipt, input_updates)

    def commit_lifecycle(
        self,
        session_id: str,
        run_id: str | None,
        state: RuntimeState | None,
        input_updates: Mapping[str, InputState],
    ) -> None:
        self.inner.commit_lifecycle(session_id, run_id, state, input_updates)

    def retire(self, session_id: str) -> None:
        self.inner.retire(session_id)

    def load_snapshot(self, session_id: str) -> bytes | None:
        return self.inner.load_snapshot(session_id)

    def receipts(self, session_id: str) -> list[Receipt]:
        return self.inner.receipts(session_id)

    def inputs(self, session_id: str) -> list[InputRecord]:
        return self.inner.inputs(session_id)

    def runtime_state(self, session_id: str) -> RuntimeState | None:
        return self.inner.runtime_state(session_id)

    def active_run(self, session_id: str) -> str | None:
        return self.inner.active_run(session_id)

    def provisional(self, session_id: str) -> list[tuple[Receipt, bytes]]:
        return self.inner.provisional(session_id)

    def clear_snapshot_if_current(self, session_id: str, expected: bytes) -> bool:
        return self.inner.clear_snapshot_if_current(session_id, expected)

    def replace_snapshot_if_current(self, session_id: str, expected: bytes, new: bytes) -> bool:
        return self.inner.replace_snapshot_if_current(session_id, expected, new)

    def session_ids(self) -> list[str]:
        return self.inner.session_ids()

    def close(self) -> None:
        self.inner.close()


__all__ = ["RuntimeProxy"]
