"""The history audit: replay first-parent commits through the current configuration.

Each commit (a merge diffed against its first parent) is selected by the engine exactly as
``lanes detect`` would, and compared with another selection (:mod:`lanes.audit.against`):
``missed`` are lanes we select and the other did not run (under-trigger), ``extra`` the reverse
(over-trigger), each with the paths responsible. Commits are processed as git streams them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lanes.audit.against import Against, OtherSelection, responsible_paths
from lanes.engine import Reason, Selection, select
from lanes.model import ChangeSet
from lanes.workspace import Workspace

FAIL_ON_CONDITIONS = ("missed", "extra")


@dataclass(frozen=True)
class Finding:
    """A lane one side ran and the other did not, and the paths behind it."""

    lane: str
    paths: tuple[str, ...]


@dataclass
class CommitAudit:
    sha: str
    subject: str
    changed_paths: int
    components: list[str]
    mode: str
    selected: list[str]
    why: dict[str, Reason]  # lane -> its shortest explanation
    failsafe: list[str]
    against: list[str] | None = None
    against_error: str | None = None
    missed: list[Finding] = field(default_factory=list)
    extra: list[Finding] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "sha": self.sha,
            "subject": self.subject,
            "changed_paths": self.changed_paths,
            "components": self.components,
            "mode": self.mode,
            "failsafe": self.failsafe,
            "selected": self.selected,
            "why": {lane: {**r.to_json(), "text": r.describe()} for lane, r in self.why.items()},
            "against": self.against,
            "against_error": self.against_error,
            "missed": [finding.lane for finding in self.missed],
            "extra": [finding.lane for finding in self.extra],
            "responsible": {
                "missed": {finding.lane: list(finding.paths) for finding in self.missed},
                "extra": {finding.lane: list(finding.paths) for finding in self.extra},
            },
        }


@dataclass
class HistorySummary:
    rev_range: str
    against: str | None
    commits: int = 0
    under_triggered: int = 0
    over_triggered: int = 0
    fail_safe: int = 0
    against_errors: int = 0
    missed_by_lane: Counter[str] = field(default_factory=Counter)
    extra_by_lane: Counter[str] = field(default_factory=Counter)
    selected_by_lane: Counter[str] = field(default_factory=Counter)
    components: Counter[str] = field(default_factory=Counter)
    unmapped: set[str] = field(default_factory=set)

    def add(self, commit: CommitAudit, unmapped: Iterable[str] = ()) -> None:
        self.commits += 1
        self.under_triggered += bool(commit.missed)
        self.over_triggered += bool(commit.extra)
        self.fail_safe += commit.mode == "fail-safe"
        self.against_errors += commit.against_error is not None
        self.missed_by_lane.update(finding.lane for finding in commit.missed)
        self.extra_by_lane.update(finding.lane for finding in commit.extra)
        self.selected_by_lane.update(commit.selected)
        self.components.update(commit.components)
        self.unmapped.update(unmapped)

    def conditions(self) -> dict[str, bool]:
        return {"missed": self.under_triggered > 0, "extra": self.over_triggered > 0}

    def to_json(self) -> dict[str, Any]:
        return {
            "range": self.rev_range,
            "against": self.against,
            "commits": self.commits,
            "under_triggered": self.under_triggered,
            "over_triggered": self.over_triggered,
            "fail_safe": self.fail_safe,
            "against_errors": self.against_errors,
            "missed_by_lane": dict(sorted(self.missed_by_lane.items())),
            "extra_by_lane": dict(sorted(self.extra_by_lane.items())),
            "selected_by_lane": dict(sorted(self.selected_by_lane.items())),
            "unmapped_outputs": sorted(self.unmapped),
        }


def shortest_reason(reasons: list[Reason]) -> Reason | None:
    """The most direct explanation: fewest hops, then reason code."""
    return min(reasons, key=lambda r: (len(r.chain), r.code), default=None)


def changed_components(paths: Iterable[str], workspace: Workspace) -> list[str]:
    owners = (workspace.index.owner(path) for path in paths)
    return sorted({owner.component for owner in owners if owner is not None})


def audit_commit(
    sha: str,
    subject: str,
    change: ChangeSet,
    workspace: Workspace,
    against: Against | None,
) -> tuple[CommitAudit, OtherSelection | None]:
    """Select one commit's lanes and compare them with ``against``."""
    uncertain = [change.uncertain] if change.uncertain else []
    ours = select(change.paths, workspace.rules, workspace.index, uncertain=uncertain)
    audit = CommitAudit(
        sha=sha,
        subject=subject,
        changed_paths=len(change.paths),
        components=changed_components(change.paths, workspace),
        mode=ours.mode,
        selected=ours.selected,
        why=_why(ours),
        failsafe=list(dict.fromkeys(ours.failsafe)),
    )
    if against is None:
        return audit, None
    other = against.select(sha, change.paths, uncertain)
    _compare(audit, ours, other)
    return audit, other


def _why(selection: Selection) -> dict[str, Reason]:
    found = {lane: shortest_reason(selection.reasons[lane]) for lane in selection.selected}
    return {lane: reason for lane, reason in found.items() if reason is not None}


def _compare(audit: CommitAudit, ours: Selection, other: OtherSelection) -> None:
    audit.against_error = other.error
    if other.error is not None:
        return
    audit.against = sorted(other.lanes)
    chosen = set(ours.selected)
    audit.missed = [
        Finding(lane, tuple(responsible_paths(ours.reasons[lane])))
        for lane in ours.selected
        if lane not in other.lanes
    ]
    audit.extra = [
        Finding(lane, tuple(other.paths.get(lane, ()))) for lane in sorted(other.lanes - chosen)
    ]


def replay(
    commits: Iterable[tuple[str, ChangeSet]],
    subjects: Iterator[tuple[str, str]],
    workspace: Workspace,
    against: Against | None,
    summary: HistorySummary,
) -> Iterator[CommitAudit]:
    """Audit each commit as it arrives; ``summary`` is updated as they go.

    ``subjects`` yields ``(sha, subject)`` in the same order as ``commits``; a subject that
    does not line up is left empty rather than trusted.
    """
    for sha, change in commits:
        subject = _subject_for(sha, subjects)
        audit, other = audit_commit(sha, subject, change, workspace, against)
        summary.add(audit, other.unmapped if other is not None else ())
        yield audit


def _subject_for(sha: str, subjects: Iterator[tuple[str, str]]) -> str:
    found = next(subjects, None)
    return found[1] if found is not None and found[0] == sha else ""
