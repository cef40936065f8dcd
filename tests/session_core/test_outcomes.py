"""One test per outcome type, on every backend."""

from __future__ import annotations

import pytest

from session_core.conformance import Backend
from session_core.errors import (
    InjectedStorageError,
    InvalidSessionId,
    SessionExists,
    SessionNotFound,
)
from session_core.faults import FaultInjector
from session_core.model import InputState, RuntimeState
from session_core.outcomes import Cancelled, Completed, CompletedWithFinalizationFailure, Failed

from .helpers import authority, in_sync, open_service, projection


def test_completed(backend: Backend) -> None:
    svc = open_service(backend)
    assert isinstance(svc.create("s1"), Completed)
    outcome = svc.run_turn("s1", "hello", input_id="in-1")
    assert isinstance(outcome, Completed)
    assert outcome.text == "turn 1: hello"
    assert outcome.receipt is not None and outcome.receipt.kind == "terminal"
    assert outcome.revision == authority(svc, "s1").revision
    assert in_sync(svc, "s1")
    assert [m.id for m in authority(svc, "s1").messages if m.role == "user"] == ["in-1"]
    svc.close()


def test_completed_with_finalization_failure_keeps_commit_and_stays_usable(
    backend: Backend,
) -> None:
    faults = FaultInjector()
    svc = open_service(backend, faults)
    svc.create("s1")
    before = projection(svc, "s1")
    faults.arm("sessions.save.before", "error")
    outcome = svc.run_turn("s1", "hello")
    assert isinstance(outcome, CompletedWithFinalizationFailure)
    assert outcome.text == "turn 1: hello"
    assert isinstance(outcome.cause, InjectedStorageError)
    assert outcome.revision == authority(svc, "s1").revision  # the commit stands
    assert projection(svc, "s1") == before  # projection did not move
    again = svc.run_turn("s1", "next")  # not permanently unusable; catches up
    assert isinstance(again, Completed)
    assert in_sync(svc, "s1")
    assert svc.reader.view("s1").authority.turns == 2
    svc.close()


def test_failed_commit_leaves_nothing_visible(backend: Backend) -> None:
    faults = FaultInjector()
    svc = open_service(backend, faults)
    svc.create("s1")
    assert svc.runtime is not None
    before_auth, before_proj = authority(svc, "s1"), projection(svc, "s1")
    receipts = svc.runtime.receipts("s1")
    faults.arm("runtime.atomic_apply.before", "error")
    outcome = svc.run_turn("s1", "hello", input_id="in-x")
    assert isinstance(outcome, Failed)
    assert isinstance(outcome.cause, InjectedStorageError)
    assert authority(svc, "s1") == before_auth
    assert projection(svc, "s1") == before_proj
    assert [r for r in svc.runtime.receipts("s1") if r.kind == "terminal"] == [
        r for r in receipts if r.kind == "terminal"
    ]
    assert svc.runtime.inputs("s1")[0].state is InputState.ABANDONED
    assert svc.runtime.active_run("s1") is None
    report = svc.recover()  # a definite failure is never redelivered
    assert report.redelivered == []
    assert authority(svc, "s1") == before_auth
    svc.close()


def test_cancelled_is_lifecycle_only(backend: Backend) -> None:
    faults = FaultInjector()
    svc = open_service(backend, faults)
    svc.create("s1")
    assert svc.runtime is not None
    before = authority(svc, "s1")
    faults.arm("turn.model_call", "cancel", skip=1)
    outcome = svc.run_turn("s1", "hello")
    assert isinstance(outcome, Cancelled)
    assert "turn.model_call" in outcome.reason
    assert authority(svc, "s1") == before
    assert svc.runtime.runtime_state("s1") is RuntimeState.IDLE
    assert svc.runtime.inputs("s1")[0].state is InputState.ABANDONED
    assert not [r for r in svc.runtime.receipts("s1") if r.kind == "terminal"]
    assert projection(svc, "s1") == before
    assert isinstance(svc.run_turn("s1", "again"), Completed)
    svc.close()


def test_cancel_at_commit_site_is_cancelled(backend: Backend) -> None:
    faults = FaultInjector()
    svc = open_service(backend, faults)
    svc.create("s1")
    faults.arm("runtime.atomic_apply.before", "cancel")
    outcome = svc.run_turn("s1", "hello")
    assert isinstance(outcome, Cancelled)
    assert isinstance(svc.run_turn("s1", "again"), Completed)
    svc.close()


def test_indeterminate_commit_resolves_to_committed(backend: Backend) -> None:
    """An error after the commit became durable: the outcome says committed, not Failed."""
    faults = FaultInjector()
    svc = open_service(backend, faults)
    svc.create("s1")
    faults.arm("runtime.atomic_apply.after", "error")
    outcome = svc.run_turn("s1", "hello")
    assert isinstance(outcome, Completed)
    assert svc.reader.view("s1").authority.turns == 1
    assert in_sync(svc, "s1")
    svc.close()


def test_create_and_ids(backend: Backend) -> None:
    svc = open_service(backend)
    svc.create("s1")
    with pytest.raises(SessionExists):
        svc.create("s1")
    with pytest.raises(InvalidSessionId):
        svc.create("../etc")
    with pytest.raises(InvalidSessionId):
        svc.run_turn("a/b", "x")
    with pytest.raises(SessionNotFound):
        svc.run_turn("missing", "x")
    svc.close()


def test_tool_failure_is_failed(backend: Backend) -> None:
    from session_core.agent import Agent, CallTools, Say, ScriptedModel

    agent = Agent(ScriptedModel([[CallTools((("nope", {}),)), Say("x")]]))
    svc = open_service(backend, agent=agent)
    svc.create("s1")
    outcome = svc.run_turn("s1", "hello")
    assert isinstance(outcome, Failed)
    assert "nope" in str(outcome.cause)
    assert svc.reader.view("s1").authority.turns == 0
    svc.close()


def test_untyped_agent_error_propagates_and_releases_the_run(backend: Backend) -> None:
    from session_core.agent import Agent

    class Broken(Agent):
        def run(self, *args: object, **kwargs: object) -> tuple[object, str]:  # type: ignore[override]
            raise RuntimeError("bug in agent code")

    svc = open_service(backend, agent=Broken())
    svc.create("s1")
    with pytest.raises(RuntimeError, match="bug in agent code"):
        svc.run_turn("s1", "hello")
    assert svc.runtime is not None
    assert svc.runtime.active_run("s1") is None
    assert svc.runtime.inputs("s1")[0].state is InputState.ABANDONED
