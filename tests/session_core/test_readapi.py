"""The consumer read API, the checkpointer gate, and per-session serialization (I10)."""

from __future__ import annotations

import threading
import time

import pytest

from session_core.checkpointer import RunContext
from session_core.conformance import Backend
from session_core.errors import SessionArchived, SessionNotFound
from session_core.faults import FaultInjector
from session_core.model import Message, RuntimeState, Session

from .helpers import authority, open_service, projection


def test_list_sessions_reports_lag(backend: Backend) -> None:
    faults = FaultInjector()
    svc = open_service(backend, faults)
    svc.create("s1")
    svc.create("s2")
    svc.run_turn("s1", "a")
    faults.arm("sessions.save.before", "error", times=2)
    svc.run_turn("s1", "b")
    svc.run_turn("s1", "c")
    views = {v.session_id: v for v in svc.reader.list_sessions()}
    assert views["s1"].lag == 2 and not views["s1"].in_sync
    assert views["s1"].authority.turns == 3 and views["s1"].projection.turns == 1
    assert views["s2"].lag == 0 and views["s2"].in_sync
    assert views["s1"].to_json()["lag"] == 2
    svc.run_turn("s1", "d")
    assert svc.reader.view("s1").lag == 0


def test_read_transcript_sources(backend: Backend) -> None:
    faults = FaultInjector()
    svc = open_service(backend, faults)
    svc.create("s1")
    faults.arm("sessions.save.before", "error")
    svc.run_turn("s1", "a")
    from_authority = svc.reader.read_transcript("s1", source="authority")
    from_projection = svc.reader.read_transcript("s1", source="projection")
    assert len(from_authority.messages) > len(from_projection.messages)
    assert from_authority == authority(svc, "s1")
    with pytest.raises(SessionNotFound):
        svc.reader.read_transcript("nope")
    with pytest.raises(SessionNotFound):
        svc.reader.read_transcript("nope", source="authority")


def test_follow_yields_every_per_turn_save(backend: Backend) -> None:
    svc = open_service(backend)
    svc.create("s1")
    start = projection(svc, "s1")
    assert start is not None
    done = threading.Event()
    seen: list[Session] = []

    def follower() -> None:
        for session in svc.reader.follow(
            "s1", after=start.revision, poll_interval=0.001, timeout=30, stop=done.is_set
        ):
            seen.append(session)

    thread = threading.Thread(target=follower)
    thread.start()
    revisions = []
    for n in range(3):
        outcome = svc.run_turn("s1", f"turn {n}")
        revisions.append(outcome.revision)  # type: ignore[union-attr]
        deadline = time.monotonic() + 20
        while not seen or seen[-1].revision != revisions[-1]:
            assert time.monotonic() < deadline, "follow() did not yield the saved turn"
            time.sleep(0.001)
    done.set()
    thread.join(timeout=30)
    assert [s.revision for s in seen] == revisions


def test_checkpoint_after_cancel_is_noop(backend: Backend) -> None:
    svc = open_service(backend)
    svc.create("s1")
    assert svc.runtime is not None
    run_id = svc.runtime.begin_run("s1", [])
    run = RunContext("s1", run_id, ())
    live = authority(svc, "s1").append(Message("user", "x", id="x"))
    svc.checkpointer.begin("s1", authority(svc, "s1"))
    svc.checkpointer.cancel("s1")
    assert svc.checkpointer.checkpoint(live, run) is False
    assert svc.runtime.receipts("s1") == []
    assert svc.runtime.provisional("s1") == []


def test_turns_and_archive_serialized_per_session(backend: Backend) -> None:
    """I10: archive racing turns never leaves an Active row, a retired runtime with an Active
    document, or an archived row behind the authority."""
    svc = open_service(backend)
    svc.create("s1")
    errors: list[BaseException] = []

    def turns() -> None:
        for n in range(15):
            try:
                svc.run_turn("s1", f"t{n}")
            except SessionArchived:
                return
            except BaseException as exc:
                errors.append(exc)
                return

    thread = threading.Thread(target=turns)
    thread.start()
    threading.Event().wait(0.005)
    svc.archive("s1")
    thread.join(timeout=60)
    assert not errors
    row = projection(svc, "s1")
    assert svc.runtime is not None
    assert row is not None and row.archived
    assert svc.runtime.runtime_state("s1") is RuntimeState.RETIRED
    assert row.revision == authority(svc, "s1").revision
