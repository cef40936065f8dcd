"""Seeded historical bugs in the checkpointer (subclasses; session_core is not edited)."""

from __future__ import annotations

from session_core.checkpointer import Gate, StoreCheckpointer
from session_core.codec import decode_session
from session_core.model import Session


class RuntimeGatedCheckpointer(StoreCheckpointer):
    """bug-01: ``enabled: runtime_store.is_none()``: no per-turn projection save whenever a
    runtime store is installed."""

    def project_committed(self, session_id: str, snapshot: bytes) -> Session:
        if self.runtime is not None:
            return decode_session(snapshot)
        return super().project_committed(session_id, snapshot)


class LengthDedupeCheckpointer(StoreCheckpointer):
    """bug-04: saves deduplicated by message count, so a same-length rewrite is never saved."""

    def dedupe_key(self, session: Session) -> str:
        return f"len:{len(session.messages)}"

    def project_committed(self, session_id: str, snapshot: bytes) -> Session:
        target = decode_session(snapshot)
        gate = self.gate(session_id)
        if not gate.cancelled and gate.last_key == self.dedupe_key(target):
            return target
        return super().project_committed(session_id, snapshot)


class UncancelledGateCheckpointer(StoreCheckpointer):
    """bug-14: a gate recreated after archive starts open, so a late checkpoint goes through."""

    def new_gate(self, session_id: str) -> Gate:
        return Gate(session_id)


class SilentCancelCheckpointer(StoreCheckpointer):
    """bug-13: a post-commit projection skipped by a cancelled gate reports success."""

    def project_committed(self, session_id: str, snapshot: bytes) -> Session:
        if self.gate(session_id).cancelled:
            return decode_session(snapshot)
        return super().project_committed(session_id, snapshot)


__all__ = [
    "LengthDedupeCheckpointer",
    "RuntimeGatedCheckpointer",
    "SilentCancelCheckpointer",
    "UncancelledGateCheckpointer",
]
