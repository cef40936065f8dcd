"""What a turn (or create/rewrite) resolves to. Exactly one outcome per call, never swallowed."""

from __future__ import annotations

from dataclasses import dataclass

from session_core.errors import SessionCoreError
from session_core.model import Receipt


@dataclass(frozen=True)
class Completed:
    """Committed in the authority and projected."""

    session_id: str
    run_id: str | None
    receipt: Receipt | None
    text: str
    revision: str


@dataclass(frozen=True)
class CompletedWithFinalizationFailure:
    """Committed in the authority, projection failed (``cause``). Recovery re-projects."""

    session_id: str
    run_id: str | None
    receipt: Receipt | None
    text: str
    revision: str
    cause: SessionCoreError


@dataclass(frozen=True)
class Failed:
    """Not committed: nothing of the run is visible anywhere."""

    session_id: str
    run_id: str | None
    cause: SessionCoreError


@dataclass(frozen=True)
class Indeterminate:
    """The storage failed in a way that leaves the input's fate unknown (a failed sync): it
    may or may not be committed. Never a definite failure. Recovery resolves it exactly once
    (redelivered and committed, or never durable); a resend of the same ``input_id`` returns
    the original outcome and never runs the turn twice."""

    session_id: str
    run_id: str | None
    input_id: str | None
    cause: SessionCoreError


@dataclass(frozen=True)
class Cancelled:
    """Cancelled before the commit: lifecycle and input states only."""

    session_id: str
    run_id: str | None
    reason: str


TurnOutcome = Completed | CompletedWithFinalizationFailure | Failed | Cancelled | Indeterminate


def committed(outcome: TurnOutcome) -> bool:
    """True when the run's commit stands in the authority."""
    return isinstance(outcome, Completed | CompletedWithFinalizationFailure)


def outcome_name(outcome: TurnOutcome) -> str:
    return type(outcome).__name__
