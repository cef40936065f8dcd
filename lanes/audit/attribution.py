"""Per-path attribution: latent gaps a commit-level comparison cannot see.

A commit that touched a component the legacy rules forgot *and* another path that made them run
the lanes anyway shows no miss at commit level, yet the gap is real: the next commit that
touches only that component skips the lanes. So, besides the whole commit, the other selection
is asked about the commit's changed paths one component at a time: the paths it owns together,
and each path it reads from elsewhere alone (:meth:`ComponentPaths.questions`; each distinct
question once per commit, and :class:`~lanes.audit.against.CommandAgainst` caches the answers
by the detector's content and the paths). A *latent gap* is a lane the dependency graph says
covers a component (``covered_by``) that the other selection does not run for that component's
own paths, or for one path it reads.

Paths the configuration treats as global, and paths no component owns or reads, are policy,
not graph: they are not attributed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lanes.audit.against import OtherSelection
from lanes.index import Index
from lanes.workspace import Workspace


@dataclass(frozen=True)
class LatentFinding:
    """In one commit: ``component``'s paths do not make the other selection run ``lane``."""

    component: str
    lane: str
    path: str  # an example path of the component changed in the commit
    hidden: bool  # the commit ran the lane anyway (another path selected it)

    def to_json(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "lane": self.lane,
            "path": self.path,
            "hidden": self.hidden,
        }


@dataclass
class LatentGap:
    """A latent gap over the range: the commits it was live in (oldest ``first``)."""

    component: str
    lane: str
    example: str
    first: str
    last: str
    commits: int = 0
    hidden: int = 0  # commits in which another path covered it up

    def add(self, sha: str, finding: LatentFinding) -> None:
        """Record one more (older, commits stream newest first) commit where it was live."""
        self.first = sha
        self.commits += 1
        self.hidden += finding.hidden

    def to_json(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "lane": self.lane,
            "first": self.first,
            "last": self.last,
            "commits": self.commits,
            "hidden": self.hidden,
            "example": self.example,
        }


@dataclass
class Attribution:
    """The latent findings of one commit, and the questions that failed."""

    findings: list[LatentFinding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def path_components(path: str, index: Index) -> list[str]:
    """The components a change to ``path`` changes: its owner, then every component that reads
    it from outside its own directory (``Index.readers``: a target or build input placed
    elsewhere, what a tracked symbolic link points at), as ``lanes detect`` resolves it."""
    owner = index.owner(path)
    found = [owner.component] if owner is not None else []
    if index.readers:
        found += [reader.component for reader in index.readers_of(path)]
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class ComponentPaths:
    """A component's changed paths in one commit: those it ``owns`` and those it ``reads`` from
    outside its own directory."""

    owns: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()

    def questions(self) -> list[tuple[str, ...]]:
        """What to ask the other selection for this component: its own paths together, then
        each path it reads alone (asked with the own paths, a read file's gap would hide behind
        them: legacy rules map a crate's directory far more often than what it reads)."""
        return ([self.owns] if self.owns else []) + [(path,) for path in self.reads]


def owner_groups(paths: Sequence[str], workspace: Workspace) -> dict[str, ComponentPaths]:
    """Changed paths by the components they change (:func:`path_components`: the owner and
    the readers, so a path may be in several groups), for components some lane covers through
    the graph (global paths and paths no component owns or reads left out)."""
    rules, index = workspace.rules, workspace.index
    owns: dict[str, list[str]] = {}
    reads: dict[str, list[str]] = {}
    for path in sorted(paths):
        if rules.global_paths.matching_pattern(path) is not None:
            continue
        owner = index.owner(path)
        for component in path_components(path, index):
            if index.covered_by.get(component):
                owned = owner is not None and owner.component == component
                (owns if owned else reads).setdefault(component, []).append(path)
    return {
        component: ComponentPaths(tuple(owns.get(component, ())), tuple(reads.get(component, ())))
        for component in dict.fromkeys([*owns, *reads])
    }


def questions(paths: Sequence[str], groups: dict[str, ComponentPaths]) -> list[tuple[str, ...]]:
    """The distinct questions of the groups besides the whole commit (a question holding every
    path is the whole commit's already)."""
    everything = len(set(paths))
    found = (q for group in groups.values() for q in group.questions() if len(q) != everything)
    return list(dict.fromkeys(found))


def attribute(
    paths: Sequence[str],
    groups: dict[str, ComponentPaths],
    answers: Sequence[OtherSelection],
    whole: OtherSelection,
    workspace: Workspace,
) -> Attribution:
    """The latent findings of one commit: ``answers`` are the other selection's answers to
    :func:`questions` (in order), ``whole`` its answer for the commit. A lane is latent for a
    component when one of its questions is answered without it; the finding names that
    question's first path."""
    result = Attribution()
    answered = dict(zip(questions(paths, groups), answers, strict=True))
    for component, group in groups.items():
        lanes = workspace.index.covered_by[component]
        missing: dict[str, str] = {}  # lane -> the first path asked without it
        for question in group.questions():
            answer = answered.get(question, whole)
            if answer.error is not None:
                result.errors.append(f"{component} ({len(question)} paths): {answer.error}")
                continue
            for lane in lanes:
                if lane not in answer.lanes:
                    missing.setdefault(lane, question[0])
        for lane in (lane for lane in lanes if lane in missing):
            hidden = whole.error is None and lane in whole.lanes
            result.findings.append(LatentFinding(component, lane, missing[lane], hidden))
    return result


def latent_text(findings: Sequence[LatentFinding]) -> str:
    """``meerkat-session: sdk, minimal``: the latent findings the commit's lanes hid (a latent
    finding the commit missed anyway is already a miss)."""
    lanes: dict[str, list[str]] = {}
    for finding in findings:
        if finding.hidden:
            lanes.setdefault(finding.component, []).append(finding.lane)
    return "; ".join(f"{component}: {', '.join(names)}" for component, names in lanes.items())
