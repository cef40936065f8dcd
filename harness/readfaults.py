"""Authority reads that a ``read-error`` fault makes fail (``HarnessFaults.read``).

session_core's fault sites are all on writes; the checks session_core makes after a failed
write (is the lease ours, does the commit stand, was the create durable, does the row of a
runtime-less session hold the turn) read the authority: the runtime store, or the row store
of a runtime-less session. A ``read-error`` fails the write and then the next read of that
session, so those double-fault paths run in the harness too.
"""

from __future__ import annotations

from harness.faults import HarnessFaults
from harness.mutants.proxy import RuntimeProxy
from session_core.model import InputRecord, Receipt, RewriteCommit, RuntimeState, Session
from session_core.stores.base import RowSummary, RuntimeStore, SessionStore, StoredRow


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


class ReadFaultRows:
    """The row store of a runtime-less service (its authority): row reads fail as runtime
    reads do; writes and the listing pass through."""

    def __init__(self, inner: SessionStore, faults: HarnessFaults) -> None:
        self.inner = inner
        self.faults = faults
        self.location = inner.location

    def load(self, session_id: str) -> Session | None:
        self.faults.read(session_id)
        return self.inner.load(session_id)

    def load_row(self, session_id: str) -> StoredRow | None:
        self.faults.read(session_id)
        return self.inner.load_row(session_id)

    def list(self) -> list[RowSummary]:
        return self.inner.list()

    def save(self, session: Session) -> None:
        self.inner.save(session)

    def save_rewrite(self, session: Session, commit: RewriteCommit) -> None:
        self.inner.save_rewrite(session, commit)

    def save_if_current(self, session: Session, expected_token: str | None) -> bool:
        return self.inner.save_if_current(session, expected_token)

    def delete_if_current(self, session_id: str, token: str) -> bool:
        return self.inner.delete_if_current(session_id, token)

    def close(self) -> None:
        self.inner.close()


__all__ = ["ReadFaultRuntime"]
