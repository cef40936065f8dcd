"""Hand-built histories and store states for checker tests."""

from __future__ import annotations

from collections.abc import Mapping

from harness.history import History
from harness.state import SessionState, WorldState
from session_core.codec import derive_receipt, encode_session
from session_core.model import InputRecord, InputState, Lifecycle, Message, Receipt, Session


def doc(sid: str, *inputs: str, archived: bool = False) -> Session:
    messages = [Message("system", "sys", id="system")]
    for n, iid in enumerate(inputs, 1):
        messages.append(Message("user", f"text {iid}", id=iid))
        messages.append(Message("assistant", f"done {iid}", id=f"run-{n}.0"))
    lifecycle = Lifecycle.ARCHIVED if archived else Lifecycle.ACTIVE
    return Session(sid, tuple(messages), {}, lifecycle)


def receipts_for(session: Session, count: int | None = None) -> tuple[Receipt, ...]:
    """One terminal receipt per turn of ``session`` (run-1 ..), the last matching its bytes."""
    turns = session.user_input_ids() if count is None else session.user_input_ids()[:count]
    out = []
    for n, iid in enumerate(turns, 1):
        prefix = doc(session.id, *turns[:n])
        out.append(
            derive_receipt(
                encode_session(prefix),
                session_id=session.id,
                run_id=f"run-{n}",
                sequence=1,
                kind="terminal",
                input_ids=(iid,),
            )
        )
    return tuple(out)


def sess(
    sid: str,
    authority: Session | None,
    row: Session | None,
    *,
    receipts: tuple[Receipt, ...] | None = None,
    inputs: tuple[InputRecord, ...] = (),
    runtime_state: str | None = "idle",
    active_run: str | None = None,
    runtime: bool = True,
    unaudited: bool = False,
) -> SessionState:
    if receipts is None:
        receipts = () if authority is None else receipts_for(authority)
    return SessionState(
        sid, runtime, authority, runtime_state, active_run, receipts, inputs, row, None, unaudited
    )


def world(index: int, events: int, *sessions: SessionState, phase: str = "step") -> WorldState:
    return WorldState(index, f"state-{index}", phase, events, {s.id: s for s in sessions})


def accepted(iid: str) -> InputRecord:
    return InputRecord(iid, "payload", InputState.ACCEPTED)


class Hist:
    """Fluent history builder: ``Hist().op("turn", "s1", "ok", input="a", outcome=...)``."""

    def __init__(self) -> None:
        self.history = History()

    def op(
        self,
        op: str,
        session: str | None,
        kind: str,
        *,
        process: str = "p0",
        invoke: Mapping[str, object] | None = None,
        receipts: tuple[dict[str, object], ...] = (),
        **done: object,
    ) -> Hist:
        start = self.history.invoke(process, op, session, dict(invoke or {}), op)
        self.history.complete(start, kind, dict(done), receipts)  # type: ignore[arg-type]
        return self

    def turn(
        self,
        session: str,
        iid: str,
        kind: str = "ok",
        *,
        receipts: tuple[dict[str, object], ...] = (),
        **done: object,
    ) -> Hist:
        start = self.history.invoke("p0", "turn", session, {"input": iid}, "turn")
        self.history.complete(start, kind, dict(done), receipts)  # type: ignore[arg-type]
        return self

    def __len__(self) -> int:
        return len(self.history)
