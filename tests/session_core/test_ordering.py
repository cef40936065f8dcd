"""One test per ordering rule and per entry of the regression catalogue (docs/bugs.md).

Where useful a test also runs a seeded mutant (a subclass with the historical bug) and checks
that the same assertion catches it, so each test demonstrably can fail.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from session_core.checkpointer import RunContext, StoreCheckpointer
from session_core.codec import encode_session
from session_core.conformance import Backend
from session_core.errors import (
    AuditFailure,
    InjectedStorageError,
    ProjectionCancelled,
    SessionArchived,
    SimulatedCrash,
    SnapshotIdentityMismatch,
    UnauditedRow,
)
from session_core.faults import FaultInjector
from session_core.model import InputState, Lifecycle, Message, RuntimeState, Session
from session_core.outcomes import Completed, CompletedWithFinalizationFailure, Failed
from session_core.service import SessionService, TurnOptions

from .helpers import authority, in_sync, open_service, projection


def _first(hits: list[str], prefix: str) -> int:
    return next(i for i, site in enumerate(hits) if site.startswith(prefix))


def test_runtime_commit_precedes_projection(backend: Backend) -> None:
    """I1: the projection of a run starts only after atomic_apply is durable."""
    faults = FaultInjector()
    svc = open_service(backend, faults)
    svc.create("s1")
    faults.hits.clear()
    svc.run_turn("s1", "hello")
    hits = faults.sites_hit()
    assert _first(hits, "runtime.atomic_apply.after") < _first(hits, "sessions.")
    assert not any(s.startswith(("sessions.", "audit.")) for s in hits[: hits.index("turn.commit")])


def test_runtime_commit_never_writes_projection(backend: Backend) -> None:
    """I1/bug 9: a crash right after the commit leaves the row untouched; recovery projects."""
    faults = FaultInjector()
    svc = open_service(backend, faults)
    svc.create("s1")
    row_before = projection(svc, "s1")
    faults.arm("turn.after_commit", "crash")
    with pytest.raises(SimulatedCrash):
        svc.run_turn("s1", "hello")
    svc = open_service(backend)
    assert projection(svc, "s1") == row_before
    assert svc.reader.view("s1").authority.turns == 1
    assert svc.recover().ok
    assert in_sync(svc, "s1")


def test_in_run_checkpoints_go_to_authority_only(backend: Backend) -> None:
    """I2/bug 2: checkpoints are provisional receipts in the authority, never projected."""
    faults = FaultInjector()
    svc = open_service(backend, faults)
    svc.create("s1")
    assert svc.runtime is not None
    row_before = projection(svc, "s1")
    faults.arm("turn.commit", "crash")
    with pytest.raises(SimulatedCrash):
        svc.run_turn("s1", "hello", input_id="in-1")
    svc = open_service(backend)
    assert svc.runtime is not None
    assert projection(svc, "s1") == row_before
    assert len(svc.runtime.provisional("s1")) == 1
    assert [r.kind for r in svc.runtime.receipts("s1")] == ["checkpoint"]
    report = svc.recover()
    assert report.redelivered == [("s1", "in-1", "Completed")]
    assert svc.reader.view("s1").authority.turns == 1
    assert svc.reader.view("s1").authority.duplicates == 0
    assert in_sync(svc, "s1")


class _PreCommitCheckpointer(StoreCheckpointer):
    """Bug 2 mutant: in-run checkpoints written to the projection."""

    def checkpoint_authority(self, live: Session, run: RunContext) -> None:
        self.sessions.save(live)


def test_pre_commit_split_brain_mutant_is_caught(backend: Backend) -> None:
    faults = FaultInjector()
    stores = backend.open(faults)
    svc = SessionService(stores.sessions, stores.audit, stores.runtime, faults=faults)
    svc.checkpointer = _PreCommitCheckpointer(
        stores.sessions, svc.projector, stores.runtime, faults
    )
    svc.create("s1")
    faults.arm("runtime.atomic_apply.before", "error")
    assert isinstance(svc.run_turn("s1", "hello"), Failed)
    row = projection(svc, "s1")
    assert row is not None and row.revision != authority(svc, "s1").revision  # caught


class _NoOpHook(SessionService):
    """Bug 3 mutant: a post-commit hook that does nothing."""

    def post_commit(self, session_id: str, snapshot: bytes) -> Session:
        return authority(self, session_id)


@pytest.mark.parametrize("mutant", [False, True])
def test_every_path_projects(backend: Backend, mutant: bool) -> None:
    """I3/bugs 1, 3: create, turn, rewrite, compaction, redelivery all project."""
    svc = open_service(backend, cls=_NoOpHook if mutant else SessionService)
    paths: list[Callable[[], object]] = [
        lambda: svc.create("s1"),
        lambda: svc.run_turn("s1", "a"),
        lambda: svc.refresh_system("s1", "new system"),
        lambda: svc.compact("s1", keep_last=1),
        lambda: svc.run_turn("s1", "b", options=TurnOptions(compact_keep_last=2)),
    ]
    synced = []
    for path in paths:
        path()
        synced.append(in_sync(svc, "s1"))
    if mutant:
        assert not all(synced)
    else:
        assert all(synced)


class _LengthDedupe(StoreCheckpointer):
    """Bug 4 mutant: dedupe by message count."""

    def dedupe_key(self, session: Session) -> str:
        return str(len(session.messages))


@pytest.mark.parametrize("mutant", [False, True])
def test_dedupe_by_revision_not_length(backend: Backend, mutant: bool) -> None:
    """Bug 4: a same-length rewrite (system refresh) must still be saved (runtime-less)."""
    stores = backend.open()
    svc = SessionService(stores.sessions, stores.audit, None)
    if mutant:
        svc.checkpointer = _LengthDedupe(stores.sessions, svc.projector)
    svc.create("s1")
    svc.run_turn("s1", "a")
    outcome = svc.refresh_system("s1", "v2")
    row = projection(svc, "s1")
    assert row is not None
    if mutant:  # the mutant skips a save: either the outcome or the row shows it
        assert not isinstance(outcome, Completed) or row.messages[0].content != "v2"
    else:
        assert isinstance(outcome, Completed)
        assert row.messages[0].content == "v2" and row.revision == outcome.revision


def test_append_refresh_compact_append_projects_as_chain(backend: Backend) -> None:
    """Bugs 5, 18: one snapshot with refresh + compaction + appends, then chained refreshes."""
    faults = FaultInjector()
    svc = open_service(backend, faults)
    svc.create("s1")
    svc.run_turn("s1", "a")
    faults.arm("sessions.save.before", "error")  # let the projection lag one turn
    svc.run_turn("s1", "b")
    out = svc.run_turn("s1", "c", options=TurnOptions(refresh_system="fresh", compact_keep_last=3))
    assert isinstance(out, Completed)
    for n in range(4):
        assert isinstance(svc.refresh_system("s1", f"refresh {n % 2}"), Completed)
    assert isinstance(svc.run_turn("s1", "d"), Completed)
    assert in_sync(svc, "s1")
    row = projection(svc, "s1")
    assert row is not None and len(row.rewrites) == 6
    assert len(svc.audit.events("s1")) == 6
    assert svc.reader.read_transcript("s1") == row
    view = svc.reader.view("s1")
    assert view.authority.turns == view.projection.turns == 4 and view.lag == 0


def test_lagging_projection_catches_up_across_compaction_at_archive(backend: Backend) -> None:
    """I4/bug 10: row at 4+ messages, authority compacted to fewer; archive still works."""
    faults = FaultInjector()
    svc = open_service(backend, faults)
    svc.create("s1")
    svc.run_turn("s1", "a")
    faults.arm("project.*", "error", times=100)
    svc.run_turn("s1", "b")
    svc.compact("s1", keep_last=1)
    faults.disarm()
    row = projection(svc, "s1")
    assert row is not None and len(row.messages) > len(authority(svc, "s1").messages)
    svc.archive("s1")
    row = projection(svc, "s1")
    assert row is not None and row.archived
    assert row.revision == authority(svc, "s1").revision


def test_stale_writer_fails_row_untouched(backend: Backend) -> None:
    """I5: projecting an older committed snapshot never regresses a newer row."""
    svc = open_service(backend)
    svc.create("s1")
    svc.run_turn("s1", "a")
    old = authority(svc, "s1")
    svc.run_turn("s1", "b")
    newer = projection(svc, "s1")
    svc.projector.project(old)
    assert projection(svc, "s1") == newer


def test_audit_failure_rolls_back_to_last_audited_row(backend: Backend) -> None:
    """I6/bug 7: the unaudited row is never served; CAS rollback to the last audited row."""
    faults = FaultInjector()
    svc = open_service(backend, faults)
    svc.create("s1")
    svc.run_turn("s1", "a")
    audited = projection(svc, "s1")
    faults.arm("audit.append.before", "error")
    outcome = svc.compact("s1", keep_last=1)
    assert isinstance(outcome, CompletedWithFinalizationFailure)
    assert isinstance(outcome.cause, AuditFailure)
    assert projection(svc, "s1") == audited
    assert svc.recover().ok and in_sync(svc, "s1")


def test_audit_and_rollback_failure_quarantines(backend: Backend) -> None:
    """I6: if the rollback CAS fails too, delete-if-current; recovery rebuilds."""
    faults = FaultInjector()
    svc = open_service(backend, faults)
    svc.create("s1")
    svc.run_turn("s1", "a")
    faults.arm("audit.append.before", "error")
    faults.arm("sessions.save_if_current.before", "error")
    outcome = svc.compact("s1", keep_last=1)
    assert isinstance(outcome, CompletedWithFinalizationFailure)
    assert projection(svc, "s1") is None
    assert svc.recover().ok and in_sync(svc, "s1")


def test_unaudited_row_never_served(backend: Backend) -> None:
    """I6: a crash between save_rewrite and the audit: readers refuse, recovery audits."""
    faults = FaultInjector()
    svc = open_service(backend, faults)
    svc.create("s1")
    svc.run_turn("s1", "a")
    faults.arm("project.audit", "crash")
    with pytest.raises(SimulatedCrash):
        svc.compact("s1", keep_last=1)
    svc = open_service(backend)
    with pytest.raises(UnauditedRow):
        svc.reader.read_transcript("s1")
    assert svc.recover().ok
    assert svc.reader.read_transcript("s1").revision == authority(svc, "s1").revision


def test_cancelled_gate_returns_retryable_error(backend: Backend) -> None:
    """I7/bug 13: a post-commit projection skipped by a cancelled gate is not success."""
    svc = open_service(backend)
    svc.create("s1")
    row = projection(svc, "s1")
    svc.checkpointer.cancel("s1")
    outcome = svc.run_turn("s1", "hello")
    assert isinstance(outcome, CompletedWithFinalizationFailure)
    assert isinstance(outcome.cause, ProjectionCancelled) and outcome.cause.retryable
    assert projection(svc, "s1") == row
    svc = open_service(backend)  # restart: recovery re-projects
    assert svc.recover().ok and in_sync(svc, "s1")


def test_archived_is_absorbing(backend: Backend) -> None:
    """I8/bug 14: no late checkpoint, recreated gate or recovery revives an archived session."""
    svc = open_service(backend)
    svc.create("s1")
    svc.run_turn("s1", "a")
    live = authority(svc, "s1").append(Message("user", "late", id="late"))
    svc.archive("s1")
    with pytest.raises(SessionArchived):
        svc.run_turn("s1", "b")
    run = RunContext("s1", None, ("late",))
    assert svc.checkpointer.checkpoint(live, run) is False  # recreated gate starts cancelled
    with pytest.raises(SessionArchived):
        svc.sessions.save(live)
    svc = open_service(backend)
    assert svc.recover().ok
    row = projection(svc, "s1")
    assert row is not None and row.archived and svc.reader.view("s1").lifecycle.value == "archived"
    assert svc.runtime is not None and svc.runtime.runtime_state("s1") is RuntimeState.RETIRED


def test_archive_order_document_first(backend: Backend) -> None:
    """I8/bug 15: document Archived first, runtime Retire second; a crash between is finished."""
    faults = FaultInjector()
    svc = open_service(backend, faults)
    svc.create("s1")
    faults.hits.clear()
    faults.arm("archive.retire", "crash")
    with pytest.raises(SimulatedCrash):
        svc.archive("s1")
    hits = faults.sites_hit()
    assert hits.index("archive.document") < hits.index("archive.retire")
    svc = open_service(backend)
    assert svc.runtime is not None
    row = projection(svc, "s1")
    assert row is not None and row.archived  # durable before the retire
    assert svc.runtime.runtime_state("s1") is RuntimeState.IDLE
    with pytest.raises(SessionArchived):
        svc.run_turn("s1", "x")
    svc.recover()
    assert svc.runtime.runtime_state("s1") is RuntimeState.RETIRED


def test_archive_failure_leaves_runtime_alive(backend: Backend) -> None:
    """Bug 15: if the document save fails, the runtime is not retired (no retired+Active)."""
    faults = FaultInjector()
    svc = open_service(backend, faults)
    svc.create("s1")
    faults.arm("archive.document", "error")
    with pytest.raises(InjectedStorageError, match=r"archive\.document"):
        svc.archive("s1")
    assert svc.runtime is not None
    assert svc.runtime.runtime_state("s1") is RuntimeState.IDLE


def test_archive_never_persists_uncommitted_content(backend: Backend) -> None:
    """Bug 21: archive writes the committed state, not the staged live transcript."""
    faults = FaultInjector()
    svc = open_service(backend, faults)
    svc.create("s1")
    svc.run_turn("s1", "a")
    committed = authority(svc, "s1")
    faults.arm("turn.commit", "crash")
    with pytest.raises(SimulatedCrash):
        svc.run_turn("s1", "staged")
    svc = open_service(backend)
    svc.archive("s1")
    row = projection(svc, "s1")
    assert row is not None and row.revision == committed.revision and row.archived


def test_receipts_dense_and_never_reused(backend: Backend) -> None:
    """I9/bug 17: checkpoints 1..k, terminal k+1; run ids unique across restarts."""
    svc = open_service(backend)
    svc.create("s1")
    svc.run_turn("s1", "a")
    svc = open_service(backend)
    svc.run_turn("s1", "b")
    assert svc.runtime is not None
    receipts = svc.runtime.receipts("s1")
    runs: dict[str, list[int]] = {}
    for r in receipts:
        runs.setdefault(r.run_id, []).append(r.sequence)
    assert len(runs) == 2
    for seqs in runs.values():
        assert seqs == list(range(1, len(seqs) + 1))
    assert receipts[-1].kind == "terminal" and receipts[-1].digest == authority(svc, "s1").revision
    assert receipts[-1].message_count == len(authority(svc, "s1").messages)


class _ReuseSequence(SessionService):
    """Bug 17 mutant: the terminal receipt reuses the last checkpoint's sequence."""

    def terminal_sequence(self, run: RunContext) -> int:
        return max(len(run.checkpoints), 1)


def test_terminal_sequence_collision_mutant_is_caught(backend: Backend) -> None:
    svc = open_service(backend, cls=_ReuseSequence)
    svc.create("s1")
    assert isinstance(svc.run_turn("s1", "a"), Failed)


def test_post_commit_hook_checks_snapshot_identity(backend: Backend) -> None:
    """Bug 22: bytes of another session are refused without writing."""
    svc = open_service(backend)
    svc.create("s1")
    svc.create("s2")
    svc.run_turn("s2", "x")
    row = projection(svc, "s1")
    with pytest.raises(SnapshotIdentityMismatch):
        svc.post_commit("s1", encode_session(authority(svc, "s2")))
    assert projection(svc, "s1") == row


def test_projection_ahead_of_authority_never_adopted(backend: Backend) -> None:
    """Bugs 11, 12, 19: a row with an uncommitted turn converges onto the authority."""
    svc = open_service(backend)
    svc.create("s1")
    svc.run_turn("s1", "a")
    ahead = authority(svc, "s1").append(Message("user", "uncommitted", id="ghost"))
    svc.sessions.save(ahead)
    assert svc.recover().ok
    assert in_sync(svc, "s1")
    assert isinstance(svc.run_turn("s1", "b"), Completed)
    assert in_sync(svc, "s1")
    ids = authority(svc, "s1").user_input_ids()
    assert "ghost" not in ids


def test_recovery_is_idempotent_and_survives_crash_inside(backend: Backend) -> None:
    faults = FaultInjector()
    svc = open_service(backend, faults)
    for sid in ("s1", "s2", "s3"):
        svc.create(sid)
    faults.arm("project.*", "error", times=1000)
    for sid in ("s1", "s2", "s3"):
        svc.run_turn(sid, "a")
        svc.compact(sid, keep_last=1)
        svc.run_turn(sid, "b")
    faults.restart()
    faults.arm("project.advance", "crash", skip=1)
    with pytest.raises(SimulatedCrash):
        svc.recover()
    faults = FaultInjector()
    svc = open_service(backend, faults)
    assert svc.recover().ok
    assert all(in_sync(svc, sid) for sid in ("s1", "s2", "s3"))
    faults.hits.clear()
    assert svc.recover().ok  # idempotent: nothing left to write
    assert not [s for s in faults.sites_hit() if s.endswith(".before")]


def test_retired_session_pending_inputs_abandoned(backend: Backend) -> None:
    faults = FaultInjector()
    svc = open_service(backend, faults)
    svc.create("s1")
    faults.arm("runtime.accept_input.after", "crash")  # accepted, its run never ran
    with pytest.raises(SimulatedCrash):
        svc.run_turn("s1", "x", input_id="in-1")
    svc = open_service(backend)
    svc.archive("s1")
    report = svc.recover()
    assert report.redelivered == [("s1", "in-1", "Abandoned")]
    assert svc.runtime is not None
    assert svc.runtime.inputs("s1")[0].state is InputState.ABANDONED
    assert svc.reader.view("s1").authority.turns == 0


def test_runtime_less_row_is_authority(backend: Backend) -> None:
    faults = FaultInjector()
    stores = backend.open(faults)
    svc = SessionService(stores.sessions, stores.audit, None, faults=faults)
    svc.create("s1")
    assert isinstance(svc.run_turn("s1", "a"), Completed)
    row = projection(svc, "s1")
    assert row is not None and row.user_input_ids() and row.lifecycle is Lifecycle.ACTIVE
    faults.arm("sessions.save.before", "error")
    assert isinstance(svc.run_turn("s1", "b"), Failed)
    assert projection(svc, "s1") == row
    assert isinstance(svc.compact("s1", keep_last=1), Completed)
    assert len(svc.audit.events("s1")) == 1
    svc.archive("s1")
    archived = projection(svc, "s1")
    assert archived is not None and archived.archived
    assert svc.recover().ok
