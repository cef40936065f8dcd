"""Defects the harness exploration found in session_core (once parked in ``harness.known``).

Each test drives the real memory and SQLite backends through the fault injector:

1. a runtime-less turn whose row save became durable before an error / cancel is reported as
   durable (``Completed`` or ``CompletedWithFinalizationFailure``), never as a definite failure;
2. a runtime-less row left with an unaudited rewrite is repaired by recovery (audit completed,
   or rolled back to the last audited row), never left unreadable;
3. an error after ``begin_run`` became durable releases the run lease the run took.
"""

from __future__ import annotations

import pytest

from session_core.conformance import Backend
from session_core.errors import (
    AuditFailure,
    InjectedStorageError,
    OperationCancelled,
    SessionCoreError,
    SimulatedCrash,
)
from session_core.faults import FaultInjector
from session_core.model import InputState, Session
from session_core.outcomes import (
    Cancelled,
    Completed,
    CompletedWithFinalizationFailure,
    Failed,
    Indeterminate,
    TurnOutcome,
)
from session_core.projection import unaudited_index
from session_core.service import SessionService, TurnOptions

from .helpers import open_service


def _runtime_less(backend: Backend, faults: FaultInjector) -> SessionService:
    stores = backend.open(faults)
    return SessionService(stores.sessions, stores.audit, None, faults=faults)


def _row(svc: SessionService, sid: str = "r1") -> Session:
    row = svc.sessions.load(sid)
    assert row is not None
    return row


def _audited(svc: SessionService, row: Session) -> bool:
    return unaudited_index(row, svc.audit.events(row.id)) is None


# --- 1. runtime-less: an error after the row save became durable --------------------------


@pytest.mark.parametrize("kind", ["error", "cancel"])
def test_runtime_less_error_after_durable_save_is_not_a_failure(
    backend: Backend, kind: str
) -> None:
    """``sessions.save.after``: the row (the authority) holds the whole turn -> Completed."""
    faults = FaultInjector()
    svc = _runtime_less(backend, faults)
    svc.create("r1")
    svc.run_turn("r1", "first", input_id="in-1")
    rule = faults.arm("sessions.save.after", kind, session_id="r1")
    outcome = svc.run_turn("r1", "second", input_id="in-2")
    assert rule.fired == 1
    row = _row(svc)
    assert row.user_input_ids() == ["in-1", "in-2"]
    assert isinstance(outcome, Completed), outcome
    assert outcome.revision == row.revision and outcome.text
    assert svc.reader.read_transcript("r1").revision == row.revision
    assert isinstance(svc.run_turn("r1", "third", input_id="in-3"), Completed)
    assert _row(svc).user_input_ids() == ["in-1", "in-2", "in-3"]


@pytest.mark.parametrize(
    "site",
    ["project.rewrite", "sessions.save_rewrite.before", "project.audit", "audit.append.before"],
)
@pytest.mark.parametrize("kind", ["error", "cancel"])
def test_runtime_less_failure_after_bridge_save_keeps_the_turn(
    backend: Backend, site: str, kind: str
) -> None:
    """A compacting turn: the bridge save (the turn, uncompacted) is durable, the rewrite is not.

    The turn is durable in the row, so the outcome is a completion carrying the cause."""
    faults = FaultInjector()
    svc = _runtime_less(backend, faults)
    svc.create("r1")
    svc.run_turn("r1", "first", input_id="in-1")
    rule = faults.arm(site, kind, session_id="r1")
    outcome = svc.run_turn(
        "r1", "second", input_id="in-2", options=TurnOptions(compact_keep_last=1)
    )
    assert rule.fired == 1
    row = _row(svc)
    assert row.user_input_ids() == ["in-1", "in-2"] and not row.rewrites
    assert _audited(svc, row)
    assert isinstance(outcome, CompletedWithFinalizationFailure), outcome
    assert isinstance(outcome.cause, InjectedStorageError | OperationCancelled | AuditFailure)
    assert outcome.revision == row.revision and outcome.text
    assert svc.reader.read_transcript("r1").revision == row.revision
    assert isinstance(svc.run_turn("r1", "third", input_id="in-3"), Completed)


@pytest.mark.parametrize("site", ["sessions.save.before", "turn.commit", "project.advance"])
def test_runtime_less_failure_before_the_save_is_still_definite(
    backend: Backend, site: str
) -> None:
    """The check above is not a blanket success: nothing durable -> Failed, row untouched."""
    faults = FaultInjector()
    svc = _runtime_less(backend, faults)
    svc.create("r1")
    svc.run_turn("r1", "first", input_id="in-1")
    before = _row(svc)
    rule = faults.arm(site, "error", session_id="r1")
    outcome = svc.run_turn("r1", "second", input_id="in-2")
    assert rule.fired == 1
    assert isinstance(outcome, Failed), outcome
    assert _row(svc) == before


def test_runtime_less_rewrite_error_after_durable_save_is_not_a_failure(
    backend: Backend,
) -> None:
    """A standalone runtime-less compaction whose rewrite became durable is not ``Failed``."""
    faults = FaultInjector()
    svc = _runtime_less(backend, faults)
    svc.create("r1")
    for i in range(3):
        svc.run_turn("r1", f"t{i}", input_id=f"in-{i}")
    faults.arm("sessions.save_rewrite.after", "error", session_id="r1")
    outcome = svc.compact("r1", keep_last=1)
    row = _row(svc)
    assert len(row.rewrites) == 1
    assert isinstance(outcome, CompletedWithFinalizationFailure), outcome
    assert outcome.revision == row.revision
    assert svc.recover().ok and _audited(svc, _row(svc))


@pytest.mark.parametrize("runtime_backed", [False, True], ids=["runtime-less", "runtime"])
def test_audit_error_after_the_event_is_durable_keeps_the_audited_row(
    backend: Backend, runtime_backed: bool
) -> None:
    """``audit.append.after``: the event is durable, so the row is audited; rolling it back
    would leave a stray event and a runtime-less session could never compact again."""
    faults = FaultInjector()
    svc = open_service(backend, faults) if runtime_backed else _runtime_less(backend, faults)
    sid = "s1" if runtime_backed else "r1"
    svc.create(sid)
    for i in range(3):
        svc.run_turn(sid, f"t{i}", input_id=f"in-{i}")
    faults.arm("audit.append.after", "error", session_id=sid)
    outcome = svc.compact(sid, keep_last=1)
    row = _row(svc, sid)
    assert len(row.rewrites) == 1 and _audited(svc, row)
    assert isinstance(outcome, Completed), outcome
    assert isinstance(svc.run_turn(sid, "t3", input_id="in-3"), Completed)
    again = svc.compact(sid, keep_last=1)
    assert isinstance(again, Completed), again
    assert len(_row(svc, sid).rewrites) == 2


# --- 2. runtime-less: an unaudited row is repaired ----------------------------------------


@pytest.mark.parametrize("site", ["sessions.save_rewrite.after", "project.audit"])
def test_runtime_less_unaudited_row_after_crash_is_repaired_by_recovery(
    backend: Backend, site: str
) -> None:
    """A crash between ``save_rewrite`` and its audit append: recovery completes the audit."""
    faults = FaultInjector()
    svc = _runtime_less(backend, faults)
    svc.create("r1")
    svc.run_turn("r1", "first", input_id="in-1")
    faults.arm(site, "crash", session_id="r1")
    with pytest.raises(SimulatedCrash):
        svc.run_turn("r1", "second", input_id="in-2", options=TurnOptions(compact_keep_last=1))
    faults.restart()
    svc = _runtime_less(backend, faults)
    row = _row(svc)
    assert row.rewrites and not _audited(svc, row)  # the fault left an unaudited rewrite
    report = svc.recover()
    assert report.ok, report
    repaired = _row(svc)
    assert _audited(svc, repaired)
    assert repaired.user_input_ids() == ["in-1", "in-2"]
    assert svc.reader.read_transcript("r1").revision == repaired.revision
    assert svc.recover().ok and _row(svc) == repaired  # idempotent


def test_runtime_less_unaudited_row_after_error_is_repaired_by_recovery(
    backend: Backend,
) -> None:
    """An error at ``sessions.save_rewrite.after``: the turn is durable (reported so), the row
    waits for its audit event; recovery appends it and the row is served again."""
    faults = FaultInjector()
    svc = _runtime_less(backend, faults)
    svc.create("r1")
    svc.run_turn("r1", "first", input_id="in-1")
    faults.arm("sessions.save_rewrite.after", "error", session_id="r1")
    outcome = svc.run_turn(
        "r1", "second", input_id="in-2", options=TurnOptions(compact_keep_last=1)
    )
    assert isinstance(outcome, CompletedWithFinalizationFailure), outcome
    assert _row(svc).user_input_ids() == ["in-1", "in-2"]
    assert svc.recover().ok
    row = _row(svc)
    assert row.rewrites and _audited(svc, row)
    assert svc.reader.read_transcript("r1").revision == row.revision


def test_runtime_less_recovery_rolls_back_when_the_audit_cannot_be_completed(
    backend: Backend,
) -> None:
    """If recovery's audit append fails too, the row goes back (CAS) to the last audited row:
    never served unaudited; the next recovery finds nothing to do."""
    faults = FaultInjector()
    svc = _runtime_less(backend, faults)
    svc.create("r1")
    svc.run_turn("r1", "first", input_id="in-1")
    faults.arm("project.audit", "crash", session_id="r1")
    with pytest.raises(SimulatedCrash):
        svc.run_turn("r1", "second", input_id="in-2", options=TurnOptions(compact_keep_last=1))
    faults.restart()
    svc = _runtime_less(backend, faults)
    faults.arm("audit.append.before", "error", session_id="r1")
    report = svc.recover()
    assert [type(s.error) for s in report.errors] == [AuditFailure]
    row = _row(svc)
    assert not row.rewrites and _audited(svc, row)
    assert row.user_input_ids() == ["in-1", "in-2"]
    assert svc.recover().ok and _row(svc) == row


def test_runtime_less_row_is_never_deleted_when_audit_and_rollback_both_fail(
    backend: Backend,
) -> None:
    """The runtime-less row is the session's only copy: when recovery can neither complete the
    audit nor roll back, the row stays (unserved while unaudited) and a later recovery repairs
    it. Nothing of the session is lost."""
    faults = FaultInjector()
    svc = _runtime_less(backend, faults)
    svc.create("r1")
    svc.run_turn("r1", "first", input_id="in-1")
    faults.arm("project.audit", "crash", session_id="r1")
    with pytest.raises(SimulatedCrash):
        svc.run_turn("r1", "second", input_id="in-2", options=TurnOptions(compact_keep_last=1))
    faults.restart()
    svc = _runtime_less(backend, faults)
    faults.arm("audit.append.before", "error", session_id="r1")
    faults.arm("project.rollback", "error", session_id="r1")
    assert not svc.recover().ok
    kept = _row(svc)
    assert kept.user_input_ids() == ["in-1", "in-2"] and not _audited(svc, kept)
    with pytest.raises(SessionCoreError):
        svc.reader.read_transcript("r1")
    report = svc.recover()
    assert report.ok, report
    row = _row(svc)
    assert row.user_input_ids() == ["in-1", "in-2"] and _audited(svc, row)
    assert svc.reader.read_transcript("r1").revision == row.revision


# --- 3. the run lease after an error at runtime.begin_run.after ---------------------------


def _lease_free_and_usable(svc: SessionService) -> None:
    assert svc.runtime is not None
    assert svc.runtime.active_run("s1") is None
    outcome = svc.run_turn("s1", "next", input_id="in-next")
    assert isinstance(outcome, Completed), outcome


@pytest.mark.parametrize(("kind", "expected"), [("error", Failed), ("cancel", Cancelled)])
def test_error_after_begin_run_releases_the_lease(
    backend: Backend, kind: str, expected: type[TurnOutcome]
) -> None:
    faults = FaultInjector()
    svc = open_service(backend, faults)
    svc.create("s1")
    rule = faults.arm("runtime.begin_run.after", kind, session_id="s1")
    outcome = svc.run_turn("s1", "lost", input_id="in-1")
    assert rule.fired == 1
    assert isinstance(outcome, expected), outcome
    assert svc.runtime is not None
    assert [(i.input_id, i.state) for i in svc.runtime.inputs("s1")] == [
        ("in-1", InputState.ABANDONED)
    ]
    _lease_free_and_usable(svc)
    assert svc.reader.view("s1").authority.turns == 1
    assert svc.recover().redelivered == []  # told Failed: never redelivered


def test_error_after_begin_run_of_a_rewrite_releases_the_lease(backend: Backend) -> None:
    faults = FaultInjector()
    svc = open_service(backend, faults)
    svc.create("s1")
    svc.run_turn("s1", "a")
    faults.arm("runtime.begin_run.after", "error", session_id="s1")
    assert isinstance(svc.compact("s1", keep_last=1), Failed)
    _lease_free_and_usable(svc)


@pytest.mark.parametrize("site", ["turn.begin_run", "runtime.begin_run.before"])
@pytest.mark.parametrize("with_input", [True, False])
def test_begin_run_failure_never_releases_another_runs_lease(
    backend: Backend, with_input: bool, site: str
) -> None:
    """An error *before* ``begin_run`` wrote anything leaves another holder's lease alone."""
    faults = FaultInjector()
    svc = open_service(backend, faults)
    svc.create("s1")
    svc.run_turn("s1", "a")
    assert svc.runtime is not None
    other = svc.runtime.begin_run("s1", ())  # another process's run
    rule = faults.arm(site, "error", session_id="s1")
    outcome = svc.run_turn("s1", "b") if with_input else svc.compact("s1", keep_last=1)
    assert rule.fired == 1
    assert isinstance(outcome, Failed), outcome
    assert svc.runtime.active_run("s1") == other


def test_failed_abort_after_begin_run_is_indeterminate(backend: Backend) -> None:
    """If the abort that would release the lease fails, the outcome is indeterminate and
    recovery releases the lease (and redelivers the input, as for any failed abort)."""
    faults = FaultInjector()
    svc = open_service(backend, faults)
    svc.create("s1")
    faults.arm("runtime.begin_run.after", "error", session_id="s1")
    faults.arm("turn.abort", "error", session_id="s1")
    outcome = svc.run_turn("s1", "x", input_id="in-1")
    assert isinstance(outcome, Indeterminate)  # never a definite Failed: recovery commits it
    assert isinstance(outcome.cause, SessionCoreError)
    assert type(outcome.cause).__name__ == "CommitIndeterminate"
    report = svc.recover()
    assert report.ok and report.redelivered == [("s1", "in-1", "Completed")]
    _lease_free_and_usable(svc)
