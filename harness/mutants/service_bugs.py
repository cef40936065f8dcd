"""Seeded historical bugs in the service's turn pipeline, archive and recovery."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from session_core.checkpointer import RunContext
from session_core.codec import decode_session, encode_session
from session_core.errors import SessionCoreError, SessionNotFound
from session_core.model import Message, Receipt, Session
from session_core.outcomes import TurnOutcome, outcome_name
from session_core.readapi import SessionReader, Source
from session_core.recovery import Recovery, RecoveryReport, SessionRecovery
from session_core.service import SessionService, TurnOptions

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())
log.propagate = False


class PreCommitProjectionService(SessionService):
    """bug-02: the projection is written inside the run, before the runtime commit."""

    def commit(self, run: RunContext, live: Session, reply: str) -> TurnOutcome:
        try:
            self.checkpointer.project_committed(run.session_id, encode_session(live))
        except SessionCoreError as exc:
            log.warning("pre-commit projection failed: %s", exc)
        return super().commit(run, live, reply)


class RewritePathNoHookService(SessionService):
    """bug-03: the post-commit hook is wired on the turn executor only; the rewrite path keeps
    the default no-op hook."""

    rewriting = False

    def rewrite(
        self, session_id: str, start: int, end: int, replacement: Sequence[Message], reason: str
    ) -> TurnOutcome:
        self.rewriting = True
        try:
            return super().rewrite(session_id, start, end, replacement, reason)
        finally:
            self.rewriting = False

    def post_commit(self, session_id: str, snapshot: bytes) -> Session:
        if self.rewriting:
            return decode_session(snapshot)
        return super().post_commit(session_id, snapshot)


class ReusedTerminalSequenceService(SessionService):
    """bug-17: the terminal receipt reuses the last live checkpoint's sequence."""

    def terminal_sequence(self, run: RunContext) -> int:
        return max(len(run.checkpoints), 1)


class RetireFirstArchiveService(SessionService):
    """bug-15: archive retires the runtime first and only warns if the document save fails."""

    def archive_steps(self) -> list[Callable[[str], None]]:
        return [self.retire_runtime, self.document_or_warn]

    def document_or_warn(self, session_id: str) -> None:
        try:
            self.archive_document(session_id)
        except SessionCoreError as exc:
            log.warning("archive document save failed: %s", exc)


class SwallowedCommitErrorService(SessionService):
    """A storage error at the commit is logged and swallowed; the receipt is returned."""

    def commit_stands(self, receipt: Receipt) -> bool:
        return True


class DuplicatingRecoveryService(SessionService):
    """Recovery redelivers a pending input as a brand-new turn and leaves the original
    pending, so every recovery runs it again (duplicated turns)."""

    def _redeliver(self, result: SessionRecovery, report: RecoveryReport) -> None:
        for record in result.pending:
            outcome = self.run_turn(result.session_id, record.payload)
            report.redelivered.append((result.session_id, record.input_id, outcome_name(outcome)))


class PoisonedRedeliveryService(SessionService):
    """bug-61: the agent's own error during a redelivery escapes ``recover()``, so the later
    sessions are never recovered or redelivered (at every restart)."""

    def _redeliver(self, result: SessionRecovery, report: RecoveryReport) -> None:
        if result.error is not None:
            return
        for record in result.pending:
            sid, iid = result.session_id, record.input_id
            with self.session_lock(sid):
                outcome = self.execute(sid, (iid,), record.payload, TurnOptions())
            report.redelivered.append((sid, iid, outcome_name(outcome)))


class UnauditedRowReader(SessionReader):
    """The read API serves the projection row without checking that its rewrites are
    audited."""

    def read_transcript(self, session_id: str, source: Source = "projection") -> Session:
        if source == "authority" and self.runtime is not None:
            return super().read_transcript(session_id, source)
        row = self.sessions.load(session_id)
        if row is None:
            raise SessionNotFound("no projection row", session_id=session_id)
        return row


class UnauditedReadService(SessionService):
    """A service whose readers serve unaudited rows (``UnauditedRowReader``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reader = UnauditedRowReader(self.sessions, self.audit, self.runtime)


class OrphanDroppingRecovery(Recovery):
    """Recovery deletes every projection row without a runtime session as an orphan: also the
    row of a runtime-less session, its only copy."""

    def check_projection_only(self, session_id: str) -> SessionRecovery:
        row = self.sessions.load_row(session_id)
        if row is not None:
            self.sessions.delete_if_current(session_id, row.token)
        return SessionRecovery(session_id, projection_only=True)


class OrphanDroppingService(SessionService):
    recovery_cls = OrphanDroppingRecovery


__all__ = [
    "DuplicatingRecoveryService",
    "OrphanDroppingRecovery",
    "OrphanDroppingService",
    "PreCommitProjectionService",
    "RetireFirstArchiveService",
    "ReusedTerminalSequenceService",
    "RewritePathNoHookService",
    "SwallowedCommitErrorService",
    "UnauditedReadService",
    "UnauditedRowReader",
]


class LeaseKeptAfterBeginErrorService(SessionService):
    """bug-49: after ``begin_run`` raised, the lease it took anyway is never looked for, so
    the abort releases nothing and the live process's next run finds the session busy."""

    def lease_taken(
        self, session_id: str, input_ids: tuple[str, ...], holder: str | None
    ) -> str | None:
        return None


class RewriteFailedAfterSaveService(SessionService):
    """bug-51: a runtime-less rewrite whose row save was durable before an error is answered
    ``Failed`` (the row is not consulted for rewrites)."""

    def row_stands(self, base: Session, live: Session, input_id: str | None) -> Session | None:
        return None if input_id is None else super().row_stands(base, live, input_id)
