"""Validation shared by every backend, so both enforce exactly the same guards."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from session_core.errors import (
    AuditConflict,
    ContinuityViolation,
    InputStateConflict,
    MonotonicityViolation,
    ReceiptConflict,
    RevisionConflict,
    SessionArchived,
    SessionBusy,
)
from session_core.model import (
    InputRecord,
    InputState,
    Message,
    Receipt,
    RewriteCommit,
    RuntimeState,
    Session,
    apply_rewrite,
    history_steps,
    same_messages,
    validate_session_id,
)
from session_core.stores.base import AuditEvent

_TRANSITIONS: dict[InputState, frozenset[InputState]] = {
    InputState.ACCEPTED: frozenset({InputState.CONSUMED, InputState.ABANDONED}),
    InputState.CONSUMED: frozenset(),
    InputState.ABANDONED: frozenset(),
}


def check_document(session: Session) -> None:
    """Id valid and retained rewrite history consistent (forged edges refused)."""
    validate_session_id(session.id)
    history_steps(session)


def check_lifecycle(stored: Session | None, incoming: Session) -> None:
    """Archived is absorbing: never write an Active document over an Archived row."""
    if stored is not None and stored.archived and not incoming.archived:
        raise SessionArchived(
            "refusing to write an Active document over an Archived row", session_id=incoming.id
        )


def is_append_or_cleanup(stored: Sequence[Message], incoming: Sequence[Message]) -> bool:
    """True if ``incoming`` is ``stored`` minus some transient notices, then appended to."""
    position = 0
    for message in stored:
        if position < len(incoming) and incoming[position].same_content(message):
            position += 1
        elif not message.transient:
            return False
    return True


def same_rewrites(left: Sequence[RewriteCommit], right: Sequence[RewriteCommit]) -> bool:
    return len(left) == len(right) and all(
        a.digest == b.digest for a, b in zip(left, right, strict=True)
    )


def check_plain_save(stored: Session, incoming: Session) -> None:
    """The accepted shapes of a plain projection save."""
    check_lifecycle(stored, incoming)
    if not same_rewrites(stored.rewrites, incoming.rewrites):
        raise ContinuityViolation(
            "a plain save may not change the rewrite history (use save_rewrite)",
            session_id=incoming.id,
        )
    if incoming.revision == stored.revision:
        return
    if is_append_or_cleanup(stored.messages, incoming.messages):
        return
    if len(incoming.messages) < len(stored.messages):
        raise MonotonicityViolation(
            len(stored.messages), len(incoming.messages), session_id=incoming.id
        )
    raise ContinuityViolation(
        f"transcript diverges from the stored row ({len(stored.messages)} -> "
        f"{len(incoming.messages)} messages)",
        session_id=incoming.id,
    )


def check_rewrite_save(stored: Session | None, incoming: Session, commit: RewriteCommit) -> None:
    if stored is None:
        raise RevisionConflict("rewrite on a missing row", session_id=incoming.id)
    check_lifecycle(stored, incoming)
    if stored.revision != commit.parent_revision:
        raise RevisionConflict("rewrite parent is not the stored head", session_id=incoming.id)
    if not same_rewrites((*stored.rewrites, commit), incoming.rewrites):
        raise ContinuityViolation(
            "rewrite must retain the stored history and add exactly this commit",
            session_id=incoming.id,
        )
    child = apply_rewrite(stored.messages, commit)
    if not same_messages(child, incoming.messages):
        raise ContinuityViolation("session does not match the rewrite", session_id=incoming.id)


def check_input_updates(
    session_id: str, inputs: Mapping[str, InputRecord], updates: Mapping[str, InputState]
) -> None:
    for input_id, state in updates.items():
        record = inputs.get(input_id)
        if record is None:
            raise InputStateConflict(f"unknown input {input_id!r}", session_id=session_id)
        if state not in _TRANSITIONS[record.state]:
            raise InputStateConflict(
                f"input {input_id!r} cannot go {record.state} -> {state}", session_id=session_id
            )


def check_receipt_slot(
    receipt: Receipt,
    state: RuntimeState,
    active_run: str | None,
    existing: Sequence[Receipt],
    kind: str,
) -> None:
    """Run lease held, right kind, dense and unused sequence."""
    sid = receipt.session_id
    if state is RuntimeState.RETIRED:
        raise SessionArchived("runtime is retired", session_id=sid)
    if receipt.kind != kind:
        raise ReceiptConflict(f"expected a {kind} receipt, got {receipt.kind}", session_id=sid)
    if active_run != receipt.run_id:
        raise ReceiptConflict(f"run {receipt.run_id!r} does not hold the lease", session_id=sid)
    used = [r.sequence for r in existing if r.run_id == receipt.run_id]
    if receipt.sequence in used:
        raise ReceiptConflict(
            f"receipt {receipt.run_id}#{receipt.sequence} already exists", session_id=sid
        )
    if receipt.sequence != len(used) + 1:
        raise ReceiptConflict(
            f"receipt {receipt.run_id}#{receipt.sequence} is not dense (next {len(used) + 1})",
            session_id=sid,
        )


def check_audit(existing: Sequence[AuditEvent], event: AuditEvent) -> bool:
    """True if ``event`` must be appended, False if identical one exists; else AuditConflict."""
    for old in existing:
        if old.index == event.index:
            if old == event:
                return False
            raise AuditConflict(
                f"audit event {event.index} already recorded with another commit",
                session_id=event.session_id,
            )
    return True


def check_can_run(session_id: str, state: RuntimeState, active_run: str | None) -> None:
    if state is RuntimeState.RETIRED:
        raise SessionArchived("runtime is retired", session_id=session_id)
    if active_run is not None:
        raise SessionBusy(f"run {active_run} holds the lease", session_id=session_id)


def check_lifecycle_run(
    session_id: str,
    current: RuntimeState,
    active_run: str | None,
    run_id: str | None,
    state: RuntimeState | None,
) -> None:
    """``commit_lifecycle``: ``run_id`` must hold the lease; ``None`` leaves lease and state.

    ``state=None`` keeps the state; a retired runtime stays retired; no run starts here.
    """
    if state is RuntimeState.RUNNING:
        raise InputStateConflict("commit_lifecycle cannot start a run", session_id=session_id)
    if current is RuntimeState.RETIRED and state not in (None, RuntimeState.RETIRED):
        raise SessionArchived("runtime is retired", session_id=session_id)
    if run_id is not None and active_run != run_id:
        raise InputStateConflict(f"run {run_id!r} does not hold the lease", session_id=session_id)
    if run_id is None and state is not None and active_run is not None:
        raise InputStateConflict("state change while a run holds the lease", session_id=session_id)
