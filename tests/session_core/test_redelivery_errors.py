"""Recovery redelivers every session's accepted inputs even when one session's agent raises an
error of its own: before, that error escaped ``recover()`` and left the later sessions'
inputs undelivered, at every restart (a poison pill). Real SQLite files; the inputs are left
accepted by child processes SIGKILLed right after the accept."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from session_core.agent import Agent, Say, ScriptedModel, Step
from session_core.factory import sqlite_service
from session_core.model import InputState
from session_core.outcomes import committed
from tests.session_core.test_sync_path import kill_during_turn


class ModelDown(RuntimeError):
    """What a model client raises when its service is unreachable."""


def _script(text: str, turn_index: int) -> Sequence[Step]:
    if text == "poison":
        raise ModelDown("model service unreachable")
    return [Say(f"done: {text}")]


def _pending(tmp_path: Path) -> Path:
    """Sessions s1 (whose input makes the agent raise) and s2, s3, each with one input left
    accepted by a killed process."""
    data = tmp_path / "data"
    svc = sqlite_service(data)
    for sid in ("s1", "s2", "s3"):
        assert committed(svc.create(sid))
    svc.close()
    for sid, text, input_id in (
        ("s1", "poison", "in-1"),
        ("s2", "hello", "in-2"),
        ("s3", "hello", "in-3"),
    ):
        kill_during_turn(data, "runtime.accept_input.after", sid, text, input_id)
    return data


def test_an_agent_error_in_one_redelivery_does_not_stop_the_others(tmp_path: Path) -> None:
    data = _pending(tmp_path)
    svc = sqlite_service(data, mode="open", agent=Agent(model=ScriptedModel(_script)))
    report = svc.recover()
    assert sorted(report.redelivered) == [
        ("s1", "in-1", "Failed"),
        ("s2", "in-2", "Completed"),
        ("s3", "in-3", "Completed"),
    ]
    assert report.redelivery_errors == [("s1", "in-1", "ModelDown('model service unreachable')")]
    assert not report.ok
    assert svc.read("s2").user_input_ids() == ["in-2"]
    assert svc.read("s3").user_input_ids() == ["in-3"]
    assert svc.runtime is not None
    assert {r.input_id: r.state for r in svc.runtime.inputs("s1")} == {"in-1": InputState.ABANDONED}
    assert svc.runtime.active_run("s1") is None  # the aborted run released its lease
    again = svc.recover()
    assert again.redelivered == [] and again.ok  # each input resolved exactly once
    svc.close()
