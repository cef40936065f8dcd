"""Runtime store reads that a ``read-error`` fault makes fail (``HarnessFaults.read``).

session_core's fault sites are all on writes; the checks session_core makes after a failed
write (is the lease ours, does the commit stand, was the create durable) read the runtime
store. A ``read-error`` fails the write and then the next read of that session, so those
double-fault paths run in the harness too.
"""

from __future__ import annotations

from harness.faults import HarnessFaults
from harness.mutants.proxy import RuntimeProxy
from session_core.model import InputRecord, Receipt, RuntimeState
from session_core.stores.base import RuntimeStore, SessionStore


class ReadFaultRuntime(RuntimeProxy):
    def __init__(self, inner: RuntimeStore, sessions: SessionStore, faults: HarnessFaults) -> None:
        super().__init__(inner, sessions)
        self.faults = faults

    def load_snapshot(self, session_id: str) -> bytes | None:
        self.faults.read(session_id)
        return super().load_snapshot(session_id)

    def receipts(self, session_id: str) -> list[Receipt]:
        self.faults.read(session_id)
        return super().receipts(session_id)

    def inputs(self, session_id: str) -> list[InputRecord]:
        self.faults.read(session_id)
        return super().inputs(session_id)

    def runtime_state(self, session_id: str) -> RuntimeState | None:
        self.faults.read(session_id)
        return super().runtime_state(session_id)

    def active_run(self, session_id: str) -> str | None:
        self.faults.read(session_id)
        return super().active_run(session_id)


__all__ = ["ReadFaultRuntime"]
