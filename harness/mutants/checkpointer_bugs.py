"""Seeded historical bugs in the checkpointer (subclasses; session_core is not edited)."""

from __future__ import annotations

from session_core.checkpointer import Gate, StoreCheckpointer
from session_core.codec import decode_session
from session_core.errors import ProjectionCancelled
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
        return Gate(session_id, faults=self.faults)


class SilentCancelCheckpointer(StoreCheckpointer):
    """bug-13: a post-commit projection skipped by a cancelled gate reports success."""

    def project_committed(self, session_id: str, snapshot: bytes) -> Session:
        if self.gate(session_id).cancelled:
            return decode_session(snapshot)
        return super().project_committed(session_id, snapshot)


class WriteThenCheckGateCheckpointer(StoreCheckpointer):
    """The post-commit projection writes the row first and checks the cancel gate after the
    write: a cancelled session still gets its row written (then a retryable error)."""

    def project_committed(self, session_id: str, snapshot: bytes) -> Session:
        target = decode_session(snapshot)
        with self.locked(session_id) as gate:
            stored = self.projector.project(target)
            gate.last_key = self.dedupe_key(stored)
            if gate.cancelled:
                raise ProjectionCancelled("checkpointer gate cancelled", session_id=session_id)
            return stored


class GateCheckedOutsideLockCheckpointer(StoreCheckpointer):
    """The gate is checked under its lock, but the projection is written after the lock is
    released: a cancel that lands between the check and the write is ignored."""

    def project_committed(self, session_id: str, snapshot: bytes) -> Session:
        target = decode_session(snapshot)
        with self.locked(session_id) as gate:
            if gate.cancelled:
                raise ProjectionCancelled("checkpointer gate cancelled", session_id=session_id)
        stored = self.projector.project(target)
        self.gate(session_id).last_key = self.dedupe_key(stored)
        return stored


class ReopeningGateCheckpointer(StoreCheckpointer):
    """Each run starts with a fresh gate state: the next run after a cancel (shutdown)
    re-opens the gate, so its projection is written."""

    def begin(self, session_id: str, base: Session) -> None:
        with self.locked(session_id) as gate:
            gate.cancelled = False
        super().begin(session_id, base)


__all__ = [
    "GateCheckedOutsideLockCheckpointer",
    "LengthDedupeCheckpointer",
    "ReopeningGateCheckpointer",
    "RuntimeGatedCheckpointer",
    "SilentCancelCheckpointer",
    "UncancelledGateCheckpointer",
    "WriteThenCheckGateCheckpointer",
]
