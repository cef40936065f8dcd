"""Model identity, codec round trips and the fault-point mechanism."""

from __future__ import annotations

import pytest

from session_core.codec import _session_json, decode_session, encode_session
from session_core.errors import (
    HistoryError,
    InjectedStorageError,
    InvalidSessionId,
    OperationCancelled,
    SimulatedCrash,
    UndecodableRow,
)
from session_core.faults import NO_FAULTS, SITES, FaultInjector
from session_core.model import (
    Message,
    Session,
    ToolCall,
    canonical_json,
    history_steps,
    invert_rewrite,
    revision_of,
    row_token,
    sha256_hex,
    validate_session_id,
)


def _msgs(*texts: str) -> tuple[Message, ...]:
    return tuple(Message("user", t, id=f"id-{i}", created_at=float(i)) for i, t in enumerate(texts))


def test_revision_ignores_ids_and_timestamps() -> None:
    a = (Message("user", "hi", id="a", created_at=1.0),)
    b = (Message("user", "hi", id="b", created_at=2.0),)
    assert revision_of(a) == revision_of(b)
    assert revision_of(a) != revision_of((Message("assistant", "hi"),))


def test_revision_covers_tool_calls() -> None:
    a = (Message("assistant", "", tool_calls=(ToolCall("c1", "add", {"a": 1}),)),)
    b = (Message("assistant", "", tool_calls=(ToolCall("c1", "add", {"a": 2}),)),)
    assert revision_of(a) != revision_of(b)


def test_fast_encodings_equal_canonical_json() -> None:
    session = Session("s1", _msgs("a", "é", 'q"uote'), {"z": "1", "a": "2"})
    session = session.append(
        Message("assistant", "", tool_calls=(ToolCall("c1", "add", {"b": 1, "a": [1, 2]}),))
    )
    session, _ = session.rewrite(0, 2, (Message("system", "summary"),), "compaction")
    assert encode_session(session) == canonical_json(_session_json(session))
    messages = [m.content_json() for m in session.messages]
    assert revision_of(session.messages) == sha256_hex(canonical_json(messages))
    assert revision_of(()) == sha256_hex(b"[]")


def test_codec_round_trip_and_row_token() -> None:
    session = Session("s1", _msgs("a", "b", "c"), {"k": "v"})
    session, _ = session.rewrite(0, 2, (Message("system", "summary"),), "compaction")
    data = encode_session(session)
    back = decode_session(data)
    assert back == session
    assert row_token(data) == row_token(encode_session(back))


@pytest.mark.parametrize("data", [b"", b"not json", b"[]", b'{"format": 99}'])
def test_undecodable_rows_are_typed(data: bytes) -> None:
    with pytest.raises(UndecodableRow) as info:
        decode_session(data, session_id="s1", path="/x/sessions.sqlite3")
    assert "s1" in str(info.value) and "/x/sessions.sqlite3" in str(info.value)


def test_rewrite_chain_walk_survives_revisited_revisions() -> None:
    session = Session("s1", (Message("system", "A"), *_msgs("u")))
    for text in ("B", "A", "B", "A"):
        session, _ = session.rewrite(0, 1, (Message("system", text),), "refresh")
    steps = history_steps(session)
    assert [s.child[0].content for s in steps] == ["B", "A", "B", "A"]
    assert steps[0].parent[0].content == "A"


def test_forged_parent_edge_is_refused() -> None:
    session = Session("s1", _msgs("a", "b"))
    child, commit = session.rewrite(0, 1, (Message("system", "x"),), "compaction")
    forged = type(commit)(**{**commit.__dict__, "parent_revision": "0" * 64})
    with pytest.raises(HistoryError):
        invert_rewrite(child.messages, forged)


@pytest.mark.parametrize("bad", ["", "a/b", "../x", "a b", "x" * 129, ".hidden", "a\\b", 7])
def test_session_ids_validated(bad: object) -> None:
    with pytest.raises(InvalidSessionId):
        validate_session_id(bad)


def test_no_faults_is_noop() -> None:
    NO_FAULTS.hit("runtime.atomic_apply.before", "s1")


def test_injector_actions() -> None:
    faults = FaultInjector()
    faults.arm("sessions.save.before", "error", skip=1)
    faults.hit("sessions.save.before", "s1")
    with pytest.raises(InjectedStorageError):
        faults.hit("sessions.save.before", "s1")
    faults.hit("sessions.save.before", "s1")  # times=1: disarmed after firing
    faults.arm("turn.*", "cancel", session_id="s2")
    faults.hit("turn.commit", "s1")
    with pytest.raises(OperationCancelled):
        faults.hit("turn.commit", "s2")
    faults.arm("project.audit", "crash")
    with pytest.raises(SimulatedCrash):
        faults.hit("project.audit", "s1")
    with pytest.raises(SimulatedCrash):  # nothing after a crash runs
        faults.hit("turn.resolve", "s1")
    faults.restart()
    faults.hit("turn.resolve", "s1")


def test_unknown_site_rejected() -> None:
    with pytest.raises(ValueError, match="unknown fault site"):
        FaultInjector().arm("runtime.atomic_aply.before", "error")
    assert "runtime.atomic_apply.after" in SITES


def test_decode_cache_never_bypasses_validation() -> None:
    bad = Session("../escape", _msgs("a"))
    data = encode_session(bad)
    with pytest.raises(UndecodableRow):
        decode_session(data)


def test_decoded_equals_encoded_even_with_tuple_arguments() -> None:
    call = ToolCall("c1", "add", {"xs": (1, 2), "n": 3})
    session = Session("s1", (Message("assistant", "", tool_calls=(call,), created_at=1),))
    assert decode_session(encode_session(session)) == session
    assert call.arguments == {"xs": [1, 2], "n": 3}
