"""The history audit: replay commits through the configuration and compare with another
selection.

Each commit (a merge diffed against its first parent) is selected by the engine exactly as
``lanes detect`` would, with the workspace (graph and configuration) :mod:`lanes.audit.graph_at`
or :mod:`lanes.audit.configs` gives for that commit, and
compared with another selection (:mod:`lanes.audit.against`): ``missed`` are lanes we select and
the other did not run (under-trigger), ``extra`` the reverse (over-trigger), each with the paths
responsible. A miss is *graph* when a dependency edge selected the lane (what the old rules
lacked: the misses that matter) and *policy* otherwise (``global``, ``unmatched``, a lane's
``paths``, a fail-safe code). Per-path attribution (:mod:`lanes.audit.attribution`) adds the
*latent* gaps a commit-level comparison hides. Commits are processed as git streams them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lanes.audit.against import Against, OtherSelection, responsible_paths
from lanes.audit.attribution import (
    Attribution,
    LatentFinding,
    LatentGap,
    attribute,
    owner_groups,
    path_components,
    questions,
)
from lanes.audit.configs import FixedConfig, Judge, WorkspaceAt
from lanes.engine import Reason, Selection, select
from lanes.model import ChangeSet
from lanes.workspace import Workspace

FAIL_ON_CONDITIONS = ("missed", "graph-missed", "latent", "extra", "against-errors")
DEFAULT_FAIL_ON = ("against-errors",)
"""Conditions on unless switched off (``--allow-against-errors``): a comparison that failed
must not read as one that found nothing."""

GRAPH = "graph"
POLICY = "policy"
MAP_CHECK_AFTER = 5
"""Successful comparisons after which ``--against-map`` names never printed are reported."""


@dataclass(frozen=True)
class Finding:
    """A lane one side ran and the other did not, and the paths behind it. ``kind`` is
    ``graph`` (a dependency edge selected it) or ``policy`` (for misses; extras are policy)."""

    lane: str
    paths: tuple[str, ...]
    kind: str = POLICY


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
    failsafe_paths: dict[str, list[str]] = field(default_factory=dict)  # code -> paths
    config: str = ""
    config_note: str | None = None
    graph: str = ""
    graph_id: str | None = None
    graph_note: str | None = None
    latent: list[LatentFinding] = field(default_factory=list)
    attribution_errors: list[str] = field(default_factory=list)

    @property
    def graph_missed(self) -> list[Finding]:
        return [finding for finding in self.missed if finding.kind == GRAPH]

    @property
    def policy_missed(self) -> list[Finding]:
        return [finding for finding in self.missed if finding.kind != GRAPH]

    @property
    def failed_comparison(self) -> bool:
        return self.against_error is not None or bool(self.attribution_errors)

    def to_json(self) -> dict[str, Any]:
        return {
            "sha": self.sha,
            "subject": self.subject,
            "changed_paths": self.changed_paths,
            "components": self.components,
            "config": self.config,
            "config_note": self.config_note,
            "graph": self.graph,
            "graph_id": self.graph_id,
            "graph_note": self.graph_note,
            "mode": self.mode,
            "failsafe": self.failsafe,
            "failsafe_paths": self.failsafe_paths,
            "selected": self.selected,
            "why": {lane: {**r.to_json(), "text": r.describe()} for lane, r in self.why.items()},
            "against": self.against,
            "against_error": self.against_error,
            "missed": [finding.lane for finding in self.missed],
            "missed_graph": [finding.lane for finding in self.graph_missed],
            "missed_policy": [finding.lane for finding in self.policy_missed],
            "extra": [finding.lane for finding in self.extra],
            "responsible": {
                "missed": {finding.lane: list(finding.paths) for finding in self.missed},
                "extra": {finding.lane: list(finding.paths) for finding in self.extra},
            },
            "latent": [finding.to_json() for finding in self.latent],
            "attribution_errors": self.attribution_errors,
        }


@dataclass
class HistorySummary:
    rev_range: str
    against: str | None
    commits: int = 0
    under_triggered: int = 0
    graph_under_triggered: int = 0
    policy_under_triggered: int = 0
    over_triggered: int = 0
    fail_safe: int = 0
    against_errors: int = 0
    missed_by_lane: Counter[str] = field(default_factory=Counter)
    graph_missed_by_lane: Counter[str] = field(default_factory=Counter)
    extra_by_lane: Counter[str] = field(default_factory=Counter)
    selected_by_lane: Counter[str] = field(default_factory=Counter)
    components: Counter[str] = field(default_factory=Counter)
    failsafe_codes: Counter[str] = field(default_factory=Counter)
    unmapped: set[str] = field(default_factory=set)
    latent: dict[tuple[str, str], LatentGap] = field(default_factory=dict)
    map_never_printed: list[str] = field(default_factory=list)
    base: str | None = None  # resolved SHAs of the range, when known
    head: str | None = None
    walk: str = "first-parent"  # or "all-commits"
    config_mode: str = "per-commit"  # or "fixed"
    graph_mode: str = "per-commit"  # or "fixed"
    graph_ids: set[str] = field(default_factory=set)
    attribution: bool = False
    notes: list[str] = field(default_factory=list)

    def add(self, commit: CommitAudit, unmapped: Iterable[str] = ()) -> None:
        self.commits += 1
        self.under_triggered += bool(commit.missed)
        self.graph_under_triggered += bool(commit.graph_missed)
        self.policy_under_triggered += bool(commit.missed) and not commit.graph_missed
        self.over_triggered += bool(commit.extra)
        self.fail_safe += commit.mode == "fail-safe"
        self.against_errors += commit.failed_comparison
        self.missed_by_lane.update(finding.lane for finding in commit.missed)
        self.graph_missed_by_lane.update(finding.lane for finding in commit.graph_missed)
        self.extra_by_lane.update(finding.lane for finding in commit.extra)
        self.selected_by_lane.update(commit.selected)
        self.components.update(commit.components)
        self.failsafe_codes.update(commit.failsafe)
        self.unmapped.update(unmapped)
        if commit.graph_id is not None:
            self.graph_ids.add(commit.graph_id)
        for finding in commit.latent:
            key = (finding.component, finding.lane)
            gap = self.latent.get(key)
            if gap is None:
                gap = self.latent[key] = LatentGap(*key, finding.path, commit.sha, commit.sha)
            gap.add(commit.sha, finding)

    @property
    def latent_gaps(self) -> list[LatentGap]:
        """Per component and lane, most commits first."""
        return sorted(self.latent.values(), key=lambda g: (-g.commits, g.component, g.lane))

    def conditions(self) -> dict[str, bool]:
        return {
            "missed": self.under_triggered > 0,
            "graph-missed": self.graph_under_triggered > 0,
            "latent": bool(self.latent),
            "extra": self.over_triggered > 0,
            "against-errors": self.against_errors > 0,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "range": self.rev_range,
            "base": self.base,
            "head": self.head,
            "walk": self.walk,
            "config": self.config_mode,
            "graph": self.graph_mode,
            "graphs": len(self.graph_ids),
            "against": self.against,
            "attribution": self.attribution,
            "commits": self.commits,
            "under_triggered": self.under_triggered,
            "graph_under_triggered": self.graph_under_triggered,
            "policy_under_triggered": self.policy_under_triggered,
            "over_triggered": self.over_triggered,
            "fail_safe": self.fail_safe,
            "failsafe_codes": dict(sorted(self.failsafe_codes.items())),
            "against_errors": self.against_errors,
            "latent_gaps": [gap.to_json() for gap in self.latent_gaps],
            "missed_by_lane": dict(sorted(self.missed_by_lane.items())),
            "graph_missed_by_lane": dict(sorted(self.graph_missed_by_lane.items())),
            "extra_by_lane": dict(sorted(self.extra_by_lane.items())),
            "selected_by_lane": dict(sorted(self.selected_by_lane.items())),
            "unmapped_outputs": sorted(self.unmapped),
            "map_never_printed": self.map_never_printed,
            "notes": self.notes,
        }


def shortest_reason(reasons: list[Reason]) -> Reason | None:
    """The most direct explanation: fewest hops, then reason code."""
    return min(reasons, key=lambda r: (len(r.chain), r.code), default=None)


def changed_components(paths: Iterable[str], workspace: Workspace) -> list[str]:
    """The components ``paths`` change: their owners and the components that read them."""
    index = workspace.index
    return sorted({component for path in paths for component in path_components(path, index)})


def failsafe_paths(
    selection: Selection, change: ChangeSet, judge: Judge | None = None
) -> dict[str, list[str]]:
    """The paths (or the git message, or why the graph could not be loaded) behind each
    fail-safe code of a selection."""
    behind: dict[str, list[str]] = {}
    for code in dict.fromkeys(selection.failsafe):
        if code == "unmatched":
            behind[code] = list(selection.unmatched)
        elif code == change.uncertain:
            behind[code] = [change.detail] if change.detail else []
        elif judge is not None and code == judge.failsafe:
            behind[code] = [judge.graph_note] if judge.graph_note else []
        elif code.startswith("manifest-error: "):
            behind[code] = [code.removeprefix("manifest-error: ").rpartition(":")[0]]
        else:
            behind[code] = []
    return behind


def audit_commit(
    sha: str,
    subject: str,
    change: ChangeSet,
    workspace: Workspace | Judge,
    against: Against | None,
    *,
    attribution: bool = False,
) -> tuple[CommitAudit, OtherSelection | None]:
    """Select one commit's lanes and compare them with ``against`` (and, with
    ``attribution``, each component's questions about its paths)."""
    judge = workspace if isinstance(workspace, Judge) else FixedConfig(workspace).at(sha)
    space = judge.workspace
    uncertain = [change.uncertain] if change.uncertain else []
    ours_uncertain = [*uncertain, judge.failsafe] if judge.failsafe else uncertain
    ours = select(change.paths, space.rules, space.index, uncertain=ours_uncertain)
    audit = CommitAudit(
        sha=sha,
        subject=subject,
        changed_paths=len(change.paths),
        components=changed_components(change.paths, space),
        mode=ours.mode,
        selected=ours.selected,
        why=_why(ours),
        failsafe=list(dict.fromkeys(ours.failsafe)),
        failsafe_paths=failsafe_paths(ours, change, judge),
        config=judge.config,
        config_note=judge.note,
        graph=judge.graph,
        graph_id=judge.graph_id,
        graph_note=judge.graph_note,
    )
    if against is None:
        return audit, None
    groups = owner_groups(change.paths, space) if attribution else {}
    asked = questions(change.paths, groups)
    if uncertain:
        other, answers = (
            against.select(sha, change.paths, uncertain),
            against.select_each(sha, asked),
        )
    else:
        other, *answers = against.select_each(sha, [change.paths, *asked])
    _compare(audit, ours, other)
    if attribution:
        _add_attribution(audit, attribute(change.paths, groups, answers, other, space))
    return audit, other


def _add_attribution(audit: CommitAudit, found: Attribution) -> None:
    audit.latent = found.findings
    audit.attribution_errors = found.errors


def _why(selection: Selection) -> dict[str, Reason]:
    found = {lane: shortest_reason(selection.reasons[lane]) for lane in selection.selected}
    return {lane: reason for lane, reason in found.items() if reason is not None}


def _miss_kind(reasons: list[Reason]) -> str:
    return GRAPH if any(reason.code == "dependency" for reason in reasons) else POLICY


def _compare(audit: CommitAudit, ours: Selection, other: OtherSelection) -> None:
    audit.against_error = other.error
    if other.error is not None:
        return
    audit.against = sorted(other.lanes)
    chosen = set(ours.selected)
    audit.missed = [
        Finding(lane, tuple(responsible_paths(ours.reasons[lane])), _miss_kind(ours.reasons[lane]))
        for lane in ours.selected
        if lane not in other.lanes
    ]
    audit.extra = [
        Finding(lane, tuple(other.paths.get(lane, ()))) for lane in sorted(other.lanes - chosen)
    ]


def replay(
    commits: Iterable[tuple[str, ChangeSet]],
    subjects: Iterator[tuple[str, str]],
    workspace: Workspace | WorkspaceAt,
    against: Against | None,
    summary: HistorySummary,
    *,
    attribution: bool = False,
    on_map_check: Callable[[list[str]], None] | None = None,
) -> Iterator[CommitAudit]:
    """Audit each commit as it arrives; ``summary`` is updated as they go.

    ``subjects`` yields ``(sha, subject)`` in the same order as ``commits``; a subject that
    does not line up is left empty rather than trusted. ``workspace`` is one workspace for every
    commit or a :class:`~lanes.audit.configs.WorkspaceAt`. Once ``MAP_CHECK_AFTER`` comparisons
    succeeded, ``on_map_check`` gets the ``--against-map`` names the command never printed
    (once, and only when there are some); the summary gets the final list.
    """
    judges = FixedConfig(workspace) if isinstance(workspace, Workspace) else workspace
    summary.attribution = attribution and against is not None
    checked = False
    for sha, change in commits:
        subject = _subject_for(sha, subjects)
        audit, other = audit_commit(
            sha, subject, change, judges.at(sha), against, attribution=attribution
        )
        summary.add(audit, other.unmapped if other is not None else ())
        if not checked and _runs(against) >= MAP_CHECK_AFTER:
            checked = True
            missing = _never_printed(against)
            if missing and on_map_check is not None:
                on_map_check(missing)
        yield audit
    summary.map_never_printed = _never_printed(against) if _runs(against) else []


def _runs(against: Against | None) -> int:
    return against.runs if against is not None else 0


def _never_printed(against: Against | None) -> list[str]:
    return against.never_printed() if against is not None else []


def _subject_for(sha: str, subjects: Iterator[tuple[str, str]]) -> str:
    found = next(subjects, None)
    return found[1] if found is not None and found[0] == sha else ""
