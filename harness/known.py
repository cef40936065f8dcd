"""Findings in session_core that the harness reports but does not count as regressions.

Each entry is a real defect found by exploration on the unmodified core, kept here (with the
exact checker and fault sites) until session_core fixes it; explore lists them under
``known``. Removing an entry makes the gate fail again while the defect is present.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.scenario import Scenario


@dataclass(frozen=True)
class KnownIssue:
    id: str
    description: str
    checker: str
    runtime_less_only: bool
    message_contains: str = ""

    def matches(self, scenario: Scenario, violation: dict[str, object]) -> bool:
        if violation.get("checker") != self.checker:
            return False
        if self.message_contains not in str(violation.get("message", "")):
            return False
        if not self.runtime_less_only:
            return True
        message = str(violation.get("message", ""))
        sid = message.split(":", 1)[0]
        return any(s.id == sid and not s.runtime for s in scenario.sessions)


KNOWN: tuple[KnownIssue, ...] = (
    KnownIssue(
        "runtime-less-failed-after-save",
        "Runtime-less turns: an error or cancel after the row save became durable (at "
        "sessions.save.after, or after the bridge save of a compaction chain) is returned as "
        "Failed/Cancelled, a definite failure, although the row (the authority of a "
        "runtime-less session) already holds the turn. The runtime-backed path resolves this "
        "with commit_stands(); the runtime-less path has no equivalent.",
        "definite_failure_no_effect",
        runtime_less_only=True,
    ),
    KnownIssue(
        "runtime-less-unaudited-row-not-repaired",
        "Runtime-less sessions: a fault between save_rewrite and its audit append (e.g. at "
        "sessions.save_rewrite.after) leaves a row with an unaudited rewrite; recovery only "
        "reports it (check_row) and never rolls it back or appends the audit event, so the row "
        "stays unreadable (UnauditedRow) until the next write of that session.",
        "liveness_converged",
        runtime_less_only=True,
        message_contains="unaudited",
    ),
)


def known_issue(scenario: Scenario, violation: dict[str, object]) -> KnownIssue | None:
    for issue in KNOWN:
        if issue.matches(scenario, violation):
            return issue
    return None


__all__ = ["KNOWN", "KnownIssue", "known_issue"]
