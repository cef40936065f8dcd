"""Recovery on open: reconcile every session's projection to the authority.

Per session, under its checkpointer gate lock (serialized with archive and projection):
release the run lease of a crashed run (its accepted inputs stay ``accepted`` and are
redelivered by the service exactly once), project the committed snapshot (append or rewrite
chain; a row ahead of the authority is rebuilt, never adopted), and complete an interrupted
archive (document Archived but runtime not retired). Every step is idempotent, so recovery can
crash anywhere and simply run again. Run it before serving turns (it releases leases).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from session_core.checkpointer import StoreCheckpointer
from session_core.codec import decode_session
from session_core.errors import SessionCoreError
from session_core.faults import NO_FAULTS, FaultPoint
from session_core.model import InputRecord, InputState, Lifecycle, RuntimeState
from session_core.projection import Projector, check_audited
from session_core.stores.base import AuditLog, RuntimeStore, SessionStore


@dataclass
class SessionRecovery:
    session_id: str
    released_run: str | None = None
    pending: list[InputRecord] = field(default_factory=list)
    error: SessionCoreError | None = None
    projection_only: bool = False


@dataclass
class RecoveryReport:
    sessions: list[SessionRecovery] = field(default_factory=list)
    redelivered: list[tuple[str, str, str]] = field(default_factory=list)
    """``(session_id, input_id, outcome name)`` for each redelivered input."""
    redelivery_errors: list[tuple[str, str, str]] = field(default_factory=list)
    """``(session_id, input_id, repr of the error)`` for each redelivered input whose agent
    raised an untyped error of its own (its outcome is ``Failed``; recovery went on)."""

    @property
    def errors(self) -> list[SessionRecovery]:
        return [s for s in self.sessions if s.error is not None]

    @property
    def ok(self) -> bool:
        return not self.errors and all(
            name in ("Completed", "Abandoned") for _, _, name in self.redelivered
        )


class Recovery:
    def __init__(
        self,
        runtime: RuntimeStore,
        sessions: SessionStore,
        audit: AuditLog,
        projector: Projector,
        checkpointer: StoreCheckpointer,
        faults: FaultPoint = NO_FAULTS,
    ) -> None:
        self.runtime = runtime
        self.sessions = sessions
        self.audit = audit
        self.projector = projector
        self.checkpointer = checkpointer
        self.faults = faults

    def run(self) -> RecoveryReport:
        report = RecoveryReport()
        ids = self.runtime.session_ids()
        for session_id in ids:
            report.sessions.append(self.recover_session(session_id))
        known = set(ids)
        for row in self.sessions.list():
            if row.session_id not in known:
                report.sessions.append(self.check_projection_only(row.session_id))
        return report

    def recover_session(self, session_id: str) -> SessionRecovery:
        result = SessionRecovery(session_id)
        try:
            self.faults.hit("recover.session", session_id)
            with self.checkpointer.locked(session_id):
                result.released_run = self.release_run(session_id)
                self.reconcile(session_id)
                self.complete_archive(session_id)
            result.pending = self.pending_inputs(session_id)
        except SessionCoreError as exc:
            result.error = exc
        return result

    def release_run(self, session_id: str) -> str | None:
        """A run lease left by a crash is released; no snapshot, no receipt."""
        run_id = self.runtime.active_run(session_id)
        if run_id is None:
            return None
        self.faults.hit("recover.release", session_id)
        self.runtime.commit_lifecycle(session_id, run_id, RuntimeState.IDLE, {})
        return run_id

    def reconcile(self, session_id: str) -> None:
        """Project the committed snapshot; never adopt a projection ahead of it."""
        data = self.runtime.load_snapshot(session_id)
        if data is None:
            return
        target = decode_session(data, session_id=session_id, path=self.runtime.location)
        if self.runtime.runtime_state(session_id) is RuntimeState.RETIRED:
            target = target.with_lifecycle(Lifecycle.ARCHIVED)
        self.projector.project(target)

    def complete_archive(self, session_id: str) -> None:
        """Document Archived first, runtime Retire second: finish an interrupted archive."""
        row = self.sessions.load(session_id)
        state = self.runtime.runtime_state(session_id)
        if row is not None and row.archived and state is not RuntimeState.RETIRED:
            self.faults.hit("recover.retire", session_id)
            self.runtime.retire(session_id)

    def pending_inputs(self, session_id: str) -> list[InputRecord]:
        return [i for i in self.runtime.inputs(session_id) if i.state is InputState.ACCEPTED]

    def check_projection_only(self, session_id: str) -> SessionRecovery:
        return check_row(self.sessions, self.audit, session_id)


def check_row(sessions: SessionStore, audit: AuditLog, session_id: str) -> SessionRecovery:
    """A row without an authority is reported (and audit-checked), never adopted or dropped."""
    result = SessionRecovery(session_id, projection_only=True)
    try:
        row = sessions.load(session_id)
        if row is not None:
            check_audited(row, audit)
    except SessionCoreError as exc:
        result.error = exc
    return result
