"""The session service: create, run a turn, rewrite (compaction), archive, recover, read.

Runtime-backed turn pipeline (the order is the point; see docs/session_core.md):

1. accept the input durably (``accept_input``);
2. take the run lease (``begin_run``), load the committed snapshot;
3. run the scripted agent; in-run checkpoints go to the authority as provisional receipts;
4. commit snapshot + terminal receipt + inputs consumed (``atomic_apply``);
5. only if 4 succeeded: project the committed bytes (``post_commit``) -> ``Completed``;
6. if 5 fails: ``CompletedWithFinalizationFailure`` (commit stands, cause attached);
7. if anything before 4 (or 4 itself) fails: abort the run (``commit_lifecycle``: no snapshot,
   no receipt, inputs abandoned) -> ``Failed`` / ``Cancelled``.

Runtime-less sessions (``runtime=None``): the row is the authority, saved right after the turn.
Collaborators come in through the constructor; every ordering decision is a small method a
harness may override in a subclass.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

from session_core.agent import Agent
from session_core.checkpointer import RunContext, StoreCheckpointer
from session_core.codec import decode_session, derive_receipt, encode_session
from session_core.errors import (
    ChecksumMismatch,
    CommitIndeterminate,
    InputStateConflict,
    OperationCancelled,
    ProjectionCancelled,
    SessionArchived,
    SessionBusy,
    SessionCoreError,
    SessionExists,
    SessionNotFound,
    StorageIndeterminate,
    UndecodableRow,
)
from session_core.faults import NO_FAULTS, FaultPoint
from session_core.model import (
    InputState,
    Lifecycle,
    Message,
    Receipt,
    RuntimeState,
    Session,
    validate_session_id,
)
from session_core.outcomes import (
    Cancelled,
    Completed,
    CompletedWithFinalizationFailure,
    Failed,
    Indeterminate,
    TurnOutcome,
    outcome_name,
)
from session_core.projection import Projector, unaudited_index
from session_core.readapi import SessionReader
from session_core.recovery import Recovery, RecoveryReport, SessionRecovery
from session_core.stores.base import AuditLog, RuntimeStore, SessionStore
from session_core.stores.guards import same_rewrites


@dataclass(frozen=True)
class TurnOptions:
    """Optional rewrites inside a turn (committed with it as one snapshot)."""

    refresh_system: str | None = None
    """Rewrite the system message before the user message (same-length rewrite)."""
    compact_keep_last: int | None = None
    """After the agent, summarise everything but the system message and the last N."""


_counter = itertools.count(1)


def default_input_id() -> str:
    return f"in-{os.getpid()}-{time.time_ns()}-{next(_counter)}"


class _Hooks:
    """Agent hooks: fault sites and in-run checkpoints."""

    def __init__(self, service: SessionService, run: RunContext) -> None:
        self.service = service
        self.run = run

    def model_call(self, session: Session) -> None:
        self.service.faults.hit("turn.model_call", session.id)

    def tool_batch(self, session: Session) -> None:
        self.service.faults.hit("turn.tool_batch", session.id)

    def after_tools(self, session: Session) -> None:
        self.service.in_run_checkpoint(session, self.run)


class SessionService:
    recovery_cls: type[Recovery] = Recovery
    """Swap in a ``Recovery`` subclass (e.g. a seeded mutant) by subclassing the service."""

    def __init__(
        self,
        sessions: SessionStore,
        audit: AuditLog,
        runtime: RuntimeStore | None = None,
        *,
        agent: Agent | None = None,
        projector: Projector | None = None,
        checkpointer: StoreCheckpointer | None = None,
        faults: FaultPoint = NO_FAULTS,
        clock: Callable[[], float] = time.time,
        new_input_id: Callable[[], str] = default_input_id,
        system_prompt: str = "You are a helpful assistant.",
    ) -> None:
        self.sessions = sessions
        self.audit = audit
        self.runtime = runtime
        self.faults = faults
        self.clock = clock
        self.new_input_id = new_input_id
        self.system_prompt = system_prompt
        self.agent = agent if agent is not None else Agent(clock=clock)
        self.projector = projector or Projector(sessions, audit, runtime, faults)
        self.checkpointer = checkpointer or StoreCheckpointer(
            sessions, self.projector, runtime, faults
        )
        self.reader = SessionReader(sessions, audit, runtime)
        self._locks: dict[str, threading.RLock] = {}
        self._locks_lock = threading.Lock()

    # --- plumbing --------------------------------------------------------------------------

    @contextmanager
    def session_lock(self, session_id: str) -> Iterator[None]:
        with self._locks_lock:
            lock = self._locks.setdefault(session_id, threading.RLock())
        with lock:
            yield

    def close(self) -> None:
        for store in (self.runtime, self.sessions, self.audit):
            if store is not None:
                store.close()

    def load_authority(self, session_id: str) -> Session:
        if self.runtime is None:
            row = self.sessions.load(session_id)
            if row is None:
                raise SessionNotFound("no such session", session_id=session_id)
            return row
        data = self.runtime.load_snapshot(session_id)
        if data is None:
            raise SessionNotFound("no committed snapshot", session_id=session_id)
        return decode_session(data, session_id=session_id, path=self.runtime.location)

    def check_active(self, session_id: str) -> None:
        """``SessionNotFound`` / ``SessionArchived`` (archived is absorbing)."""
        if self.runtime is not None:
            state = self.runtime.runtime_state(session_id)
            if state is None:
                raise SessionNotFound(
                    "no such session", session_id=session_id, path=self.runtime.location
                )
            if state is RuntimeState.RETIRED:
                raise SessionArchived("session is archived", session_id=session_id)
        try:
            row = self.sessions.load(session_id)
        except (ChecksumMismatch, UndecodableRow):
            if self.runtime is None:
                raise  # runtime-less: the row is the only copy
            row = None  # runtime-backed: the projection rebuilds it from the authority
        if row is not None and row.archived:
            raise SessionArchived("session is archived", session_id=session_id)
        if row is None and self.runtime is None:
            raise SessionNotFound(
                "no such session", session_id=session_id, path=self.sessions.location
            )

    # --- create ----------------------------------------------------------------------------

    def create(
        self,
        session_id: str,
        *,
        system_prompt: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> TurnOutcome:
        """Create a session. ``SessionExists`` / ``InvalidSessionId`` raise; else an outcome."""
        validate_session_id(session_id)
        prompt = self.system_prompt if system_prompt is None else system_prompt
        system = Message("system", prompt, id="system", created_at=self.clock())
        doc = Session(session_id, (system,), dict(metadata or {}))
        with self.session_lock(session_id):
            if self.runtime is None:
                return self._create_row(doc)
            snapshot = encode_session(doc)
            self.check_no_orphan_row(session_id)
            try:
                self.runtime.create(session_id, snapshot)
            except SessionExists:
                raise
            except StorageIndeterminate as exc:
                return self.indeterminate(session_id, None, None, exc)
            except SessionCoreError as exc:
                return self.create_failed(session_id, snapshot, exc)
            return self.finalize(session_id, None, None, snapshot, "")

    def create_failed(self, session_id: str, snapshot: bytes, exc: SessionCoreError) -> TurnOutcome:
        """``runtime.create`` raised: ``Failed`` only if the snapshot is known not to be in the
        authority. A create that became durable before its error was reported (an error at
        ``runtime.create.after``, a failed sync reported late), or one that cannot be checked, is
        ``Indeterminate``: recovery projects the session (it is never created twice)."""
        assert self.runtime is not None
        try:
            stands = self.create_stands(session_id, snapshot)
        except SessionCoreError as check:
            cause = CommitIndeterminate(
                f"create failed ({exc}); check failed: {check}", session_id=session_id
            )
            return self.indeterminate(session_id, None, None, cause)
        if stands:
            return self.indeterminate(session_id, None, None, exc)
        return Failed(session_id, None, exc)

    def create_stands(self, session_id: str, snapshot: bytes) -> bool:
        """After a create error: does the authority hold a record of the session anyway?"""
        assert self.runtime is not None
        return self.runtime.runtime_state(session_id) is not None

    def check_no_orphan_row(self, session_id: str) -> None:
        """A projection row without an authority record holds history the authority lost
        (a missing or replaced runtime file): creating the id anew would rebuild that row
        from an empty transcript. Refused; the row is reported by recovery, never dropped."""
        if self.sessions.load_row(session_id) is not None:
            raise SessionExists(
                "a projection row exists for this id but the authority has no record of it"
                " (restore the runtime file; the row is kept)",
                session_id=session_id,
                path=self.sessions.location,
            )

    def indeterminate(
        self,
        session_id: str,
        run_id: str | None,
        input_id: str | None,
        cause: SessionCoreError,
    ) -> TurnOutcome:
        """The input's fate is unknown (a failed sync, a failed undo): never ``Failed``."""
        return Indeterminate(session_id, run_id, input_id, cause)

    def _create_row(self, doc: Session) -> TurnOutcome:
        try:
            created = self.sessions.save_if_current(doc, None)
        except SessionCoreError as exc:
            return Failed(doc.id, None, exc)
        if not created:
            raise SessionExists("session exists", session_id=doc.id)
        return Completed(doc.id, None, None, "", doc.revision)

    # --- turns -----------------------------------------------------------------------------

    def run_turn(
        self,
        session_id: str,
        text: str,
        *,
        input_id: str | None = None,
        options: TurnOptions | None = None,
    ) -> TurnOutcome:
        validate_session_id(session_id)
        resend = input_id is not None
        input_id = input_id or self.new_input_id()
        opts = options or TurnOptions()
        with self.session_lock(session_id):
            self.check_active(session_id)
            if self.runtime is None:
                return self.run_runtime_less(session_id, input_id, text, opts)
            if resend:
                known = self.known_outcome(session_id, input_id, text)
                if known is not None:
                    return known
            run = self.accept_and_begin(session_id, input_id, text)
            if not isinstance(run, RunContext):
                return run
            return self.run_begun(run, text, opts)

    def accept_and_begin(
        self, session_id: str, input_id: str, text: str
    ) -> RunContext | TurnOutcome:
        """Steps 1-2 in one transaction (``runtime.accept_and_begin``): the input accepted
        and the run lease taken, all or nothing; durable with the run's commit or abort, before
        any outcome. Refused by the lease or retired guard: nothing was written, ``Failed``.
        Another error: ``accept_failed``."""
        assert self.runtime is not None
        try:
            self.faults.hit("turn.accept_input", session_id)
            self.faults.hit("turn.begin_run", session_id)
            run_id = self.runtime.accept_and_begin(session_id, input_id, text)
        except (SessionBusy, SessionArchived) as exc:
            return _not_committed(session_id, None, exc)
        except SessionCoreError as exc:
            return self.accept_failed(session_id, input_id, exc)
        return RunContext(session_id, run_id, (input_id,))

    def accept_failed(self, session_id: str, input_id: str, exc: SessionCoreError) -> TurnOutcome:
        """``accept_and_begin`` raised: it may be durable anyway (an error at its ``.after``
        sites). A failed sync -> ``Indeterminate``; a run found holding the lease with this
        input is aborted (input abandoned, lease released); else the accept is undone if it
        exists (``reject_input``)."""
        if isinstance(exc, StorageIndeterminate):
            return self.indeterminate(session_id, None, input_id, exc)
        try:
            taken = self.lease_taken(session_id, (input_id,), None)
        except SessionCoreError as check:
            cause = CommitIndeterminate(
                f"accept failed ({exc}); lease check failed: {check}", session_id=session_id
            )
            return self.indeterminate(session_id, None, input_id, cause)
        if taken is not None:
            run = RunContext(session_id, taken, (input_id,))
            return self.abort(run, _not_committed(session_id, taken, exc))
        return self.reject_input(session_id, input_id, exc)

    def known_outcome(self, session_id: str, input_id: str, text: str) -> TurnOutcome | None:
        """A resend (or retry) of an input the authority already knows returns its original
        outcome instead of running the turn twice: consumed -> the committed turn (re-projected
        if the projection lags), abandoned -> the definite failure. An accepted, pending input
        (left by a crash or an indeterminate outcome) runs now, once; ``None`` if unknown."""
        assert self.runtime is not None
        record = next((r for r in self.runtime.inputs(session_id) if r.input_id == input_id), None)
        if record is None or record.payload != text:
            return None  # new, or a conflicting payload (accept_input refuses it)
        if record.state is InputState.ACCEPTED:
            return self.execute(session_id, (input_id,), text, TurnOptions())
        if record.state is InputState.ABANDONED:
            cause = InputStateConflict(
                f"input {input_id!r} was not committed (abandoned); send it with a new id",
                session_id=session_id,
                path=self.runtime.location,
            )
            return Failed(session_id, record.run_id, cause)
        return self.committed_outcome(session_id, input_id)

    def committed_outcome(self, session_id: str, input_id: str) -> TurnOutcome:
        """The outcome of the committed run that consumed ``input_id``."""
        assert self.runtime is not None
        receipt = next(
            (
                r
                for r in self.runtime.receipts(session_id)
                if r.kind == "terminal" and input_id in r.input_ids
            ),
            None,
        )
        snapshot = self.runtime.load_snapshot(session_id)
        if snapshot is None:
            raise SessionNotFound("no committed snapshot", session_id=session_id)
        reply = reply_to(decode_session(snapshot, session_id=session_id), input_id)
        run_id = None if receipt is None else receipt.run_id
        outcome = self.finalize(session_id, run_id, receipt, snapshot, reply)
        if receipt is None or not isinstance(outcome, Completed | CompletedWithFinalizationFailure):
            return outcome
        return replace(outcome, revision=receipt.digest)

    def reject_input(self, session_id: str, input_id: str, exc: SessionCoreError) -> TurnOutcome:
        """``accept_input`` raised. A failed sync (``StorageIndeterminate``) leaves the accept
        possibly durable but invisible here: ``Indeterminate``. Otherwise it may be durable
        anyway (an error after the write), so abandon it (never redeliver) -> ``Failed``."""
        assert self.runtime is not None
        if isinstance(exc, StorageIndeterminate):
            return self.indeterminate(session_id, None, input_id, exc)
        try:
            self.runtime.commit_lifecycle(session_id, None, None, {input_id: InputState.ABANDONED})
        except InputStateConflict:
            pass  # never accepted (or already final): nothing to undo
        except SessionCoreError as undo:
            cause = CommitIndeterminate(
                f"accept failed ({exc}) and could not be undone ({undo})", session_id=session_id
            )
            return self.indeterminate(session_id, None, input_id, cause)
        return _not_committed(session_id, None, exc)

    def execute(
        self, session_id: str, input_ids: tuple[str, ...], text: str, opts: TurnOptions
    ) -> TurnOutcome:
        """Steps 2-7 for accepted inputs (redelivery after a crash, a resend of a pending
        input)."""
        run = self.begin(session_id, input_ids)
        if not isinstance(run, RunContext):
            return run
        return self.run_begun(run, text, opts)

    def run_begun(self, run: RunContext, text: str, opts: TurnOptions) -> TurnOutcome:
        """Steps 3-7 for a run that holds the lease."""
        session_id, input_ids = run.session_id, run.input_ids
        try:
            base = self.load_authority(session_id)
            self.checkpointer.begin(session_id, base)
            live, reply = self.run_agent(base, input_ids[0], text, run, opts)
            self.faults.hit("turn.commit", session_id)
        except SessionCoreError as exc:
            return self.abort(run, _not_committed(session_id, run.run_id, exc))
        except Exception as exc:
            # an untyped error from agent/tool code: release the run, then let it propagate
            self.abort(run, Failed(session_id, run.run_id, SessionCoreError(repr(exc))))
            raise
        return self.commit(run, live, reply)

    def begin(self, session_id: str, input_ids: tuple[str, ...]) -> RunContext | TurnOutcome:
        assert self.runtime is not None
        not_begun = RunContext(session_id, None, input_ids)
        try:
            self.faults.hit("turn.begin_run", session_id)
            holder = None if input_ids else self.runtime.active_run(session_id)
        except SessionCoreError as exc:
            return self.abort(not_begun, _not_committed(session_id, None, exc))
        try:
            run_id = self.runtime.begin_run(session_id, input_ids)
        except (SessionBusy, SessionArchived) as exc:
            # refused by the lease / retired guard: nothing was written
            return self.abort(not_begun, _not_committed(session_id, None, exc))
        except SessionCoreError as exc:
            try:
                taken = self.lease_taken(session_id, input_ids, holder)
            except SessionCoreError as check:
                cause = CommitIndeterminate(
                    f"begin_run failed ({exc}); lease check failed: {check}",
                    session_id=session_id,
                )
                return self.indeterminate(session_id, None, _first(input_ids), cause)
            run = RunContext(session_id, taken, input_ids)
            return self.abort(run, _not_committed(session_id, taken, exc))
        return RunContext(session_id, run_id, input_ids)

    def lease_taken(
        self, session_id: str, input_ids: tuple[str, ...], holder: str | None
    ) -> str | None:
        """After ``begin_run`` raised: the run whose lease it took anyway (durable before the
        error, e.g. at ``runtime.begin_run.after``), so the abort releases it; else ``None``.

        A run with inputs is recognized by its inputs (``begin_run`` tags them with the run id);
        a run without inputs (a rewrite) by a lease that was free (``holder``) before the call.
        """
        assert self.runtime is not None
        run_id = self.runtime.active_run(session_id)
        if run_id is None or run_id == holder:
            return None
        if input_ids:
            tagged = {r.input_id: r.run_id for r in self.runtime.inputs(session_id)}
            if any(tagged.get(i) != run_id for i in input_ids):
                return None
        return run_id

    def run_agent(
        self, base: Session, input_id: str, text: str, run: RunContext, opts: TurnOptions
    ) -> tuple[Session, str]:
        live = base
        if opts.refresh_system is not None:
            live = refresh_rewrite(live, opts.refresh_system)
        user = Message("user", text, id=input_id, created_at=self.clock())
        live, reply = self.agent.run(live, user, run.run_id or input_id, _Hooks(self, run))
        if opts.compact_keep_last is not None:
            live = compaction_rewrite(live, opts.compact_keep_last)
        return live, reply

    def in_run_checkpoint(self, live: Session, run: RunContext) -> None:
        """Long runs checkpoint after each tool batch: to the authority, never the projection."""
        if not run.runtime_backed:
            return
        self.faults.hit("turn.checkpoint", live.id)
        self.checkpointer.checkpoint(live, run)

    def terminal_sequence(self, run: RunContext) -> int:
        """Dense receipts: checkpoints 1..k, terminal k+1."""
        return len(run.checkpoints) + 1

    def commit(self, run: RunContext, live: Session, reply: str) -> TurnOutcome:
        """Step 4, then (only on success) the post-commit finalization."""
        assert self.runtime is not None and run.run_id is not None
        sid = run.session_id
        snapshot = encode_session(live)
        receipt = derive_receipt(
            snapshot,
            session_id=sid,
            run_id=run.run_id,
            sequence=self.terminal_sequence(run),
            kind="terminal",
            input_ids=run.input_ids,
        )
        try:
            self.runtime.atomic_apply(
                sid, snapshot, receipt, {i: InputState.CONSUMED for i in run.input_ids}
            )
        except SessionCoreError as exc:
            try:
                stands = self.commit_stands(receipt)
            except SessionCoreError as check:
                cause = CommitIndeterminate(
                    f"commit failed ({exc}); check failed: {check}", session_id=sid
                )
                return self.indeterminate(sid, run.run_id, _first(run.input_ids), cause)
            if not stands and isinstance(exc, StorageIndeterminate):
                return self.commit_unknown(run, exc)
            if not stands:
                return self.abort(run, _not_committed(sid, run.run_id, exc))
        return self.finalize(sid, run.run_id, receipt, snapshot, reply)

    def commit_unknown(self, run: RunContext, exc: StorageIndeterminate) -> TurnOutcome:
        """The commit's sync failed and it is not visible: it may still be durable (in the
        WAL). Release the lease but keep the inputs ``accepted`` (never abandoned: that would
        claim a definite failure); recovery or a resend of the same input id resolves them
        exactly once."""
        assert self.runtime is not None and run.run_id is not None
        with contextlib.suppress(SessionCoreError):  # a held lease is taken over later
            self.runtime.commit_lifecycle(run.session_id, run.run_id, RuntimeState.IDLE, {})
        return self.indeterminate(run.session_id, run.run_id, _first(run.input_ids), exc)

    def commit_stands(self, receipt: Receipt) -> bool:
        """After a commit error: is the terminal receipt durable anyway (indeterminate case)?"""
        assert self.runtime is not None
        return receipt in self.runtime.receipts(receipt.session_id)

    def finalize(
        self,
        session_id: str,
        run_id: str | None,
        receipt: Receipt | None,
        snapshot: bytes,
        text: str,
    ) -> TurnOutcome:
        """Step 5/6: project the committed bytes; a failure keeps the commit and the text."""
        revision = decode_session(snapshot).revision
        try:
            self.faults.hit("turn.after_commit", session_id)
            self.faults.hit("turn.project", session_id)
            self.post_commit(session_id, snapshot)
            self.faults.hit("turn.resolve", session_id)
        except SessionCoreError as exc:
            return CompletedWithFinalizationFailure(
                session_id, run_id, receipt, text, revision, exc
            )
        return Completed(session_id, run_id, receipt, text, revision)

    def post_commit(self, session_id: str, snapshot: bytes) -> Session:
        """The post-commit hook: projects the committed snapshot on every path."""
        return self.checkpointer.project_committed(session_id, snapshot)

    def abort(self, run: RunContext, outcome: TurnOutcome) -> TurnOutcome:
        """Step 7: lifecycle + inputs abandoned only; no snapshot, no receipt."""
        assert self.runtime is not None
        try:
            self.faults.hit("turn.abort", run.session_id)
            self.runtime.commit_lifecycle(
                run.session_id,
                run.run_id,
                self.abort_state(run),
                {i: InputState.ABANDONED for i in run.input_ids},
            )
        except SessionCoreError as exc:
            cause = CommitIndeterminate(
                f"run not committed, abort failed ({exc}); recovery redelivers the input",
                session_id=run.session_id,
            )
            return self.indeterminate(run.session_id, run.run_id, _first(run.input_ids), cause)
        return outcome

    def abort_state(self, run: RunContext) -> RuntimeState | None:
        assert self.runtime is not None
        if run.run_id is None:
            return None
        state = self.runtime.runtime_state(run.session_id)
        return RuntimeState.RETIRED if state is RuntimeState.RETIRED else RuntimeState.IDLE

    # --- runtime-less ----------------------------------------------------------------------

    def run_runtime_less(
        self, session_id: str, input_id: str, text: str, opts: TurnOptions
    ) -> TurnOutcome:
        run = RunContext(session_id, None, (input_id,))
        try:
            base = self.load_authority(session_id)
            self.checkpointer.begin(session_id, base)
            live, reply = self.run_agent(base, input_id, text, run, opts)
            self.faults.hit("turn.commit", session_id)
        except SessionCoreError as exc:
            return _not_committed(session_id, None, exc)
        try:
            self.save_runtime_less(live, run)
        except SessionCoreError as exc:
            return self.saved_anyway(base, live, input_id, reply, exc)
        self.faults.hit("turn.resolve", session_id)
        return Completed(session_id, None, None, reply, live.revision)

    def saved_anyway(
        self, base: Session, live: Session, input_id: str | None, text: str, exc: SessionCoreError
    ) -> TurnOutcome:
        """Runtime-less: the save raised, but part of it may be durable (``sessions.save.after``,
        a bridge save before a failed rewrite). The row is the authority, so it decides, once:
        ``Completed`` if it holds ``live`` (audited), ``CompletedWithFinalizationFailure`` if it
        holds the run's effect otherwise (the turn without its compaction, or a rewrite still
        waiting for its audit event, which the next write or recovery completes), else the
        definite ``Failed`` / ``Cancelled``."""
        sid = live.id
        try:
            row = self.row_stands(base, live, input_id)
            complete = (
                row is not None
                and row.revision == live.revision
                and same_rewrites(row.rewrites, live.rewrites)
                and unaudited_index(row, self.audit.events(sid)) is None
            )
        except SessionCoreError as check:
            cause = CommitIndeterminate(
                f"save failed ({exc}); check failed: {check}", session_id=sid
            )
            return self.indeterminate(sid, None, input_id, cause)
        if row is None:
            return _not_committed(sid, None, exc)
        if complete:
            return Completed(sid, None, None, text, row.revision)
        return CompletedWithFinalizationFailure(sid, None, None, text, row.revision, exc)

    def row_stands(self, base: Session, live: Session, input_id: str | None) -> Session | None:
        """The runtime-less analogue of ``commit_stands``: the stored row if it holds the run's
        effect (the turn ``input_id``; for a rewrite, ``live`` itself), else ``None``."""
        row = self.sessions.load(live.id)
        if row is None:
            return None
        if input_id is None:
            same = row.revision == live.revision and same_rewrites(row.rewrites, live.rewrites)
            return row if same else None
        held = row.user_input_ids().count(input_id) > base.user_input_ids().count(input_id)
        return row if held else None

    def save_runtime_less(self, live: Session, run: RunContext) -> None:
        """The row is the authority: saved right after the turn, through the checkpointer."""
        if not self.checkpointer.checkpoint(live, run):
            stored = self.sessions.load(live.id)
            if stored is None or stored.revision != live.revision:
                raise ProjectionCancelled("save skipped by the gate", session_id=live.id)

    # --- rewrites --------------------------------------------------------------------------

    def rewrite(
        self, session_id: str, start: int, end: int, replacement: Sequence[Message], reason: str
    ) -> TurnOutcome:
        """Commit one rewrite (compaction, refresh) as its own run, then project the chain."""
        validate_session_id(session_id)
        with self.session_lock(session_id):
            self.check_active(session_id)
            if self.runtime is None:
                return self._rewrite_runtime_less(session_id, start, end, replacement, reason)
            run = self.begin(session_id, ())
            if not isinstance(run, RunContext):
                return run
            try:
                base = self.load_authority(session_id)
                live, _ = base.rewrite(start, end, replacement, reason)
                self.faults.hit("rewrite.commit", session_id)
            except SessionCoreError as exc:
                return self.abort(run, _not_committed(session_id, run.run_id, exc))
            return self.commit(run, live, "")

    def _rewrite_runtime_less(
        self, session_id: str, start: int, end: int, replacement: Sequence[Message], reason: str
    ) -> TurnOutcome:
        try:
            base = self.load_authority(session_id)
            self.checkpointer.begin(session_id, base)
            live, _ = base.rewrite(start, end, replacement, reason)
            self.faults.hit("rewrite.commit", session_id)
        except SessionCoreError as exc:
            return _not_committed(session_id, None, exc)
        try:
            self.save_runtime_less(live, RunContext(session_id, None, ()))
        except SessionCoreError as exc:
            return self.saved_anyway(base, live, None, "", exc)
        return Completed(session_id, None, None, "", live.revision)

    def compact(self, session_id: str, keep_last: int = 2) -> TurnOutcome:
        base = self.load_authority(session_id)
        start, end = compaction_range(base.messages, keep_last)
        return self.rewrite(
            session_id, start, end, [summary_message(base, start, end)], "compaction"
        )

    def refresh_system(self, session_id: str, text: str) -> TurnOutcome:
        system = Message("system", text, id="system", created_at=self.clock())
        return self.rewrite(session_id, 0, 1, [system], "system-refresh")

    # --- archive ---------------------------------------------------------------------------

    def archive(self, session_id: str) -> None:
        """Cancel the gate, then run ``archive_steps`` in order (document first, retire second)."""
        validate_session_id(session_id)
        with self.session_lock(session_id), self.checkpointer.locked(session_id) as gate:
            gate.cancelled = True
            for step in self.archive_steps():
                step(session_id)
        self.checkpointer.forget(session_id)

    def archive_steps(self) -> list[Callable[[str], None]]:
        return [self.archive_document, self.retire_runtime]

    def archive_document(self, session_id: str) -> None:
        """Durable Archived document of the *committed* state (catching up the projection)."""
        target = self.load_authority(session_id).with_lifecycle(Lifecycle.ARCHIVED)
        self.faults.hit("archive.document", session_id)
        self.projector.project(target)

    def retire_runtime(self, session_id: str) -> None:
        if self.runtime is None:
            return
        self.faults.hit("archive.retire", session_id)
        self.runtime.retire(session_id)

    # --- recovery and reads ----------------------------------------------------------------

    def recovery(self) -> Recovery:
        assert self.runtime is not None
        return self.recovery_cls(
            self.runtime, self.sessions, self.audit, self.projector, self.checkpointer, self.faults
        )

    def recover(self, *, redeliver: bool = True) -> RecoveryReport:
        """Reconcile every session; then redeliver accepted, uncommitted inputs exactly once."""
        if self.runtime is None:
            return self._recover_runtime_less()
        report = self.recovery().run()
        if redeliver:
            for result in report.sessions:
                self._redeliver(result, report)
        return report

    def _redeliver(self, result: SessionRecovery, report: RecoveryReport) -> None:
        assert self.runtime is not None
        if result.error is not None:
            return
        retired = self.runtime.runtime_state(result.session_id) is RuntimeState.RETIRED
        for record in result.pending:
            sid, iid = result.session_id, record.input_id
            if retired:
                self.runtime.commit_lifecycle(sid, None, None, {iid: InputState.ABANDONED})
                report.redelivered.append((sid, iid, "Abandoned"))
                continue
            self.faults.hit("recover.redeliver", sid)
            try:
                with self.session_lock(sid):
                    outcome = self.execute(sid, (iid,), record.payload, TurnOptions())
            except SessionCoreError:
                raise
            except Exception as exc:
                # The agent's own error (its run aborted and released, the input failed): a
                # turn lets it through to its caller, but here it would stop the redelivery of
                # every later session at each restart, so it is reported and the rest go on.
                report.redelivered.append((sid, iid, "Failed"))
                report.redelivery_errors.append((sid, iid, repr(exc)))
                continue
            report.redelivered.append((sid, iid, outcome_name(outcome)))

    def _recover_runtime_less(self) -> RecoveryReport:
        report = RecoveryReport()
        for row in self.sessions.list():
            report.sessions.append(self.repair_row(row.session_id))
        return report

    def repair_row(self, session_id: str) -> SessionRecovery:
        """Runtime-less recovery of one row (the authority): a rewrite left unaudited by a fault
        between ``save_rewrite`` and its audit append gets its audit event
        (``Projector.ensure_audited``); if that append fails the row goes back by CAS to the
        last audited row (quarantined if even that fails) and the error is reported.
        Idempotent; serialized with turns and archive of the session."""
        result = SessionRecovery(session_id, projection_only=True)
        try:
            with self.session_lock(session_id), self.checkpointer.locked(session_id):
                row = self.sessions.load_row(session_id)
                if row is not None:
                    self.projector.ensure_audited(row, row.session)
        except SessionCoreError as exc:
            result.error = exc
        return result

    def read(self, session_id: str) -> Session:
        """The authority's view (runtime snapshot, or the row for runtime-less sessions)."""
        return self.reader.read_transcript(session_id, source="authority")


def _first(input_ids: tuple[str, ...]) -> str | None:
    return input_ids[0] if input_ids else None


def reply_to(session: Session, input_id: str) -> str:
    """The last assistant text after the user message ``input_id`` (before the next user)."""
    reply = ""
    seen = False
    for message in session.messages:
        if message.role == "user":
            if seen:
                break
            seen = message.id == input_id
        elif seen and message.role == "assistant" and not message.tool_calls:
            reply = message.content
    return reply


def _not_committed(session_id: str, run_id: str | None, exc: SessionCoreError) -> TurnOutcome:
    if isinstance(exc, OperationCancelled):
        return Cancelled(session_id, run_id, str(exc))
    return Failed(session_id, run_id, exc)


def refresh_rewrite(session: Session, text: str) -> Session:
    system = Message("system", text, id="system")
    new, _ = session.rewrite(0, 1, [system], "system-refresh")
    return new


def compaction_range(messages: Sequence[Message], keep_last: int) -> tuple[int, int]:
    start = 1 if messages and messages[0].role == "system" else 0
    return start, max(start, len(messages) - max(keep_last, 0))


def summary_message(session: Session, start: int, end: int) -> Message:
    return Message(
        "system",
        f"[summary of {end - start} messages]",
        id=f"summary-{session.revision[:12]}-{start}-{end}",
    )


def compaction_rewrite(session: Session, keep_last: int) -> Session:
    start, end = compaction_range(session.messages, keep_last)
    if end <= start:
        return session
    new, _ = session.rewrite(start, end, [summary_message(session, start, end)], "compaction")
    return new
