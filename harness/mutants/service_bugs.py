"""Seeded historical bugs in the service's turn pipeline, archive and recovery."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from session_core.checkpointer import RunContext
from session_core.codec import decode_session, encode_session
from session_core.errors import SessionCoreError
from session_core.model import Message, Receipt, Session
from session_core.outcomes import TurnOutcome, outcome_name
from session_core.recovery import RecoveryReport, SessionRecovery
from session_core.service import SessionService

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


__all__ = [
    "DuplicatingRecoveryService",
    "PreCommitProjectionService",
    "RetireFirstArchiveService",
    "ReusedTerminalSequenceService",
    "RewritePathNoHookService",
    "SwallowedCommitErrorService",
]
