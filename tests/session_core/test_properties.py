"""Property tests (hypothesis) for transcript identity, rewrites and the accepted shapes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from session_core.codec import decode_session, encode_session
from session_core.errors import ContinuityViolation, MonotonicityViolation
from session_core.model import Message, Session, history_steps, revision_of
from session_core.stores.guards import check_plain_save

ROLES = st.sampled_from(["system", "user", "assistant", "tool"])
messages = st.builds(
    Message,
    role=ROLES,
    content=st.text(max_size=8),
    transient=st.booleans(),
    id=st.text(alphabet="abc", max_size=3),
    created_at=st.floats(allow_nan=False, allow_infinity=False, width=32),
)
transcripts = st.lists(messages, max_size=8).map(tuple)


@given(transcripts, st.data())
def test_revision_ignores_ids_and_timestamps(
    msgs: tuple[Message, ...], data: st.DataObject
) -> None:
    relabelled = tuple(
        Message(m.role, m.content, transient=m.transient, id=data.draw(st.text(max_size=3)))
        for m in msgs
    )
    assert revision_of(msgs) == revision_of(relabelled)


@settings(max_examples=60)
@given(transcripts, st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8), transcripts)))
def test_rewrite_history_round_trips(
    base: tuple[Message, ...], edits: list[tuple[int, int, tuple[Message, ...]]]
) -> None:
    session = Session("s1", base)
    states = [session.messages]
    for a, b, replacement in edits:
        n = len(session.messages)
        start, end = sorted((min(a, n), min(b, n)))
        session, _ = session.rewrite(start, end, replacement, "edit")
        states.append(session.messages)
    steps = history_steps(session)
    assert [s.parent for s in steps] == states[:-1]
    assert [s.child for s in steps] == states[1:]
    assert decode_session(encode_session(session)) == session


def _oracle_accepts(stored: tuple[Message, ...], incoming: tuple[Message, ...]) -> bool:
    """Brute force: some set of transient notices dropped from ``stored`` is a prefix."""
    if revision_of(stored) == revision_of(incoming):
        return True
    transient = [i for i, m in enumerate(stored) if m.transient]
    for mask in range(1 << len(transient)):
        dropped = {transient[b] for b in range(len(transient)) if mask >> b & 1}
        kept = [m for i, m in enumerate(stored) if i not in dropped]
        if len(kept) <= len(incoming) and all(
            a.same_content(b) for a, b in zip(kept, incoming, strict=False)
        ):
            return True
    return False


small = st.lists(
    st.builds(Message, role=ROLES, content=st.sampled_from(["a", "b"]), transient=st.booleans()),
    max_size=6,
).map(tuple)


@settings(max_examples=300)
@given(small, small)
def test_plain_save_accepts_exactly_the_documented_shapes(
    stored: tuple[Message, ...], incoming: tuple[Message, ...]
) -> None:
    accepted = _oracle_accepts(stored, incoming)
    try:
        check_plain_save(Session("s1", stored), Session("s1", incoming))
    except MonotonicityViolation:
        assert not accepted and len(incoming) < len(stored)
    except ContinuityViolation:
        assert not accepted and len(incoming) >= len(stored)
    else:
        assert accepted
