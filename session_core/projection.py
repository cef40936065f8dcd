"""Projecting committed authority snapshots into the session store.

A projection is a chain: for every retained rewrite the row has not seen yet, a **bridge**
save (materialize the rewrite's parent as a plain append), the **rewrite** (``save_rewrite``),
its **audit** event, and finally the **head advance** (plain save of the target). If an audit
append fails the unaudited row is rolled back by CAS to the last audited row; if that fails it
is deleted if current (quarantine). A row that is ahead of or diverged from the authority is
never adopted: it is rebuilt from the authority (runtime-backed sessions only).

Each step is a small method so a harness can subclass ``Projector`` to seed historical bugs.
"""

from __future__ import annotations

from dataclasses import replace

from session_core.codec import decode_session, encode_session
from session_core.errors import (
    AuditFailure,
    ChecksumMismatch,
    ContinuityViolation,
    MonotonicityViolation,
    ProjectionError,
    RevisionConflict,
    SessionCoreError,
    UnauditedRow,
    UndecodableRow,
)
from session_core.faults import NO_FAULTS, FaultPoint
from session_core.model import (
    HistoryStep,
    Lifecycle,
    Session,
    history_steps,
    row_token,
)
from session_core.stores.base import AuditEvent, AuditLog, RuntimeStore, SessionStore, StoredRow
from session_core.stores.guards import is_append_or_cleanup, same_rewrites

_RACES = (RevisionConflict, ContinuityViolation, MonotonicityViolation)


def token_of(session: Session) -> str:
    """The row token a store will hold after writing ``session``."""
    return row_token(encode_session(session))


def state_at(target: Session, steps: list[HistoryStep], index: int, *, parent: bool) -> Session:
    """The document of ``target``'s history just before (``parent``) or after rewrite ``index``."""
    step = steps[index]
    if parent:
        return replace(target, messages=step.parent, rewrites=target.rewrites[:index])
    return replace(target, messages=step.child, rewrites=target.rewrites[: index + 1])


def unaudited_index(row: Session, events: list[AuditEvent]) -> int | None:
    """Index of the first retained rewrite without a matching audit event."""
    by_index = {e.index: e.commit_digest for e in events}
    for index, commit in enumerate(row.rewrites):
        if by_index.get(index) != commit.digest:
            return index
    return None


def check_audited(row: Session, audit: AuditLog) -> None:
    """Raise ``UnauditedRow`` unless every retained rewrite of ``row`` is audited."""
    index = unaudited_index(row, audit.events(row.id))
    if index is not None:
        raise UnauditedRow(f"rewrite {index} of the row is not audited", session_id=row.id)


class Projector:
    """Brings a session's projection row to a target document (a committed authority state).

    ``runtime`` is ``None`` for runtime-less sessions: the row is then the authority and a
    diverged row is an error, never rebuilt.
    """

    max_attempts = 5

    def __init__(
        self,
        sessions: SessionStore,
        audit: AuditLog,
        runtime: RuntimeStore | None = None,
        faults: FaultPoint = NO_FAULTS,
    ) -> None:
        self.sessions = sessions
        self.audit = audit
        self.runtime = runtime
        self.faults = faults

    # --- entry point ---------------------------------------------------------------------

    def project(self, target: Session) -> Session:
        """Project ``target``; returns the document now stored. Retries lost CAS races."""
        last: SessionCoreError | None = None
        for _ in range(self.max_attempts):
            row = self.load_verified(target.id)
            goal = self.goal(row, target)
            try:
                return self.project_row(row, goal)
            except _RACES as exc:
                last = exc
                target = self.retarget(target)
        raise ProjectionError(
            f"projection kept losing races: {last}", session_id=target.id
        ) from last

    def load_verified(self, session_id: str) -> StoredRow | None:
        """The row, checksum-verified. A runtime-backed row that fails its checksum or does
        not decode is quarantined (delete-if-current by its stored token; the store keeps the
        bytes) and rebuilt from the verified authority; a runtime-less row is the only copy:
        the error propagates, nothing is deleted."""
        try:
            return self.sessions.load_row(session_id)
        except (ChecksumMismatch, UndecodableRow) as exc:
            if self.runtime is None or exc.stored_token is None:
                raise
            self.quarantine_corrupt(session_id, exc.stored_token)
            return self.sessions.load_row(session_id)

    def quarantine_corrupt(self, session_id: str, stored_token: str) -> None:
        self.faults.hit("project.quarantine", session_id)
        self.sessions.delete_if_current(session_id, stored_token)

    def goal(self, row: StoredRow | None, target: Session) -> Session:
        """Archived is absorbing: an Archived row keeps the target Archived."""
        if row is not None and row.session.archived and not target.archived:
            return target.with_lifecycle(Lifecycle.ARCHIVED)
        return target

    def retarget(self, target: Session) -> Session:
        """After a lost race, project the authority's current head if it moved on."""
        if self.runtime is None:
            return target
        data = self.runtime.load_snapshot(target.id)
        if data is None:
            return target
        head = decode_session(data, session_id=target.id, path=self.runtime.location)
        if head.revision == target.revision:
            return target
        return head.with_lifecycle(target.lifecycle) if target.archived else head

    def project_row(self, row: StoredRow | None, target: Session) -> Session:
        steps = history_steps(target)
        if row is not None and not self.reachable(row.session, target, steps):
            return self.on_diverged(row, target)
        if row is not None:
            self.ensure_audited(row, target)
        return self.chain(row, target, steps)

    # --- planning --------------------------------------------------------------------------

    def reachable(self, row: Session, target: Session, steps: list[HistoryStep]) -> bool:
        """True if ``target`` is reachable from ``row`` by appends, cleanups and rewrites."""
        known = len(row.rewrites)
        if not same_rewrites(row.rewrites, target.rewrites[:known]):
            return False
        nxt = steps[known].parent if known < len(steps) else target.messages
        return row.revision == target.revision or is_append_or_cleanup(row.messages, nxt)

    def on_diverged(self, row: StoredRow, target: Session) -> Session:
        """A row ahead of / diverged from the target is never adopted."""
        newer = self.retarget(target)
        if newer.revision != target.revision:
            raise RevisionConflict("authority moved on; re-projecting", session_id=target.id)
        if self.runtime is None:
            raise ContinuityViolation(
                "runtime-less row diverges from the session being saved", session_id=target.id
            )
        return self.rebuild(row, target)

    def rebuild(self, row: StoredRow, target: Session) -> Session:
        """Delete the diverged row (CAS) and project the authority from scratch."""
        self.faults.hit("project.rebuild", target.id)
        if not self.sessions.delete_if_current(target.id, row.token):
            raise RevisionConflict("row changed during rebuild", session_id=target.id)
        return self.chain(None, target, history_steps(target))

    # --- the chain -------------------------------------------------------------------------

    def chain(self, row: StoredRow | None, target: Session, steps: list[HistoryStep]) -> Session:
        current = None if row is None else row.session
        known = 0 if current is None else len(current.rewrites)
        if current is None and steps:
            current = self.bridge(None, state_at(target, steps, 0, parent=True))
        for step in steps[known:]:
            parent = state_at(target, steps, step.index, parent=True)
            if current is None or current.revision != parent.revision or current != parent:
                current = self.bridge(current, parent)
            child = state_at(target, steps, step.index, parent=False)
            self.rewrite(child, step)
            self.audit_rewrite(child, step, last_audited=parent)
            current = child
        if current is None or encode_session(current) != encode_session(target):
            self.advance(current, target)
        return target

    def bridge(self, current: Session | None, parent: Session) -> Session:
        """Materialize a rewrite's parent (a plain append, or the first row)."""
        self.faults.hit("project.bridge", parent.id)
        self.write_plain(current, parent)
        return parent

    def rewrite(self, child: Session, step: HistoryStep) -> None:
        self.faults.hit("project.rewrite", child.id)
        self.sessions.save_rewrite(child, step.commit)

    def audit_rewrite(self, child: Session, step: HistoryStep, *, last_audited: Session) -> None:
        """Append the audit event; on failure roll back (CAS) or quarantine, then raise."""
        event = AuditEvent.for_commit(child.id, step.index, step.commit)
        try:
            self.faults.hit("project.audit", child.id)
            self.audit.append(event)
        except SessionCoreError as exc:
            if self.audit_stands(event):
                return
            self.rollback_unaudited(child, last_audited)
            raise AuditFailure(f"audit append failed: {exc}", session_id=child.id) from exc

    def audit_stands(self, event: AuditEvent) -> bool:
        """After an append error: is the event durable anyway (an error after the write)?

        Then the row is audited and must not be rolled back: a rolled-back rewrite would leave
        its event behind, and a different commit at that index would be refused
        (``AuditConflict``) forever in a runtime-less session."""
        try:
            return event in self.audit.events(event.session_id)
        except SessionCoreError:
            return False

    def advance(self, current: Session | None, target: Session) -> None:
        self.faults.hit("project.advance", target.id)
        self.write_plain(current, target)

    def write_plain(self, current: Session | None, new: Session) -> None:
        if current is None:
            if not self.sessions.save_if_current(new, None):
                raise RevisionConflict("row appeared concurrently", session_id=new.id)
        else:
            self.sessions.save(new)

    # --- fail closed -----------------------------------------------------------------------

    def rollback_unaudited(self, unaudited: Session, last_audited: Session | None) -> None:
        """CAS back to the last audited row; if that fails, delete-if-current (quarantine)."""
        token = token_of(unaudited)
        try:
            self.faults.hit("project.rollback", unaudited.id)
            if last_audited is not None and self.sessions.save_if_current(last_audited, token):
                return
        except SessionCoreError:
            pass
        self.quarantine(unaudited.id, token)

    def quarantine(self, session_id: str, token: str) -> None:
        """Delete-if-current an unaudited projection row: the authority can rebuild it.

        A runtime-less row is the session's only copy, so it is never deleted: it stays unserved
        (reads refuse an unaudited row) until recovery completes its audit.
        """
        if self.runtime is None:
            return
        self.faults.hit("project.quarantine", session_id)
        self.sessions.delete_if_current(session_id, token)

    def ensure_audited(self, row: StoredRow, target: Session) -> None:
        """A row left with an unaudited rewrite (crash after save_rewrite) gets its events."""
        index = unaudited_index(row.session, self.audit.events(target.id))
        if index is None:
            return
        steps = history_steps(row.session)
        for step in steps[index:]:
            child = state_at(row.session, steps, step.index, parent=False)
            parent = state_at(row.session, steps, step.index, parent=True)
            event = AuditEvent.for_commit(row.session.id, step.index, step.commit)
            try:
                self.faults.hit("project.audit", row.session.id)
                self.audit.append(event)
            except SessionCoreError as exc:
                if self.audit_stands(event):
                    continue
                self.rollback_row(row, parent)
                raise AuditFailure(f"audit append failed: {exc}", session_id=child.id) from exc

    def rollback_row(self, row: StoredRow, last_audited: Session) -> None:
        try:
            self.faults.hit("project.rollback", row.session.id)
            if self.sessions.save_if_current(last_audited, row.token):
                return
        except SessionCoreError:
            pass
        self.quarantine(row.session.id, row.token)
