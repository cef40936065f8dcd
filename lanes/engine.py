"""The pure selection core: (changed paths, index, configuration) -> selection.

No I/O. Resolving one changed path, in order: (1) ``global`` selects every lane; (2) every lane
whose ``paths`` match it; (3) its owner component selects every lane whose coverage contains it;
(4) if neither (2) nor (3) applied: ``ignore`` selects nothing, otherwise the ``unmatched`` policy
applies. Any uncertainty (unknown base, git error, manifest error, unknown component, unmatched
path under ``all``) selects every lane and records a reason code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from lanes.config import Config
from lanes.globs import GlobList
from lanes.index import Index, Owner

Mode = Literal["precise", "fail-safe"]


@dataclass(frozen=True)
class Reason:
    """Why one lane was selected: a reason code plus the explanation chain as data."""

    code: str  # global | lane-path | dependency | unmatched | fail-safe codes
    path: str | None = None
    rule: str | None = None
    component: str | None = None
    chain: tuple[tuple[str, str], ...] = ()  # (component, edge) from the lane root down

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code}
        if self.path is not None:
            data["path"] = self.path
        if self.rule is not None:
            data["rule"] = self.rule
        if self.component is not None:
            data["component"] = self.component
        if self.chain:
            data["chain"] = [{"component": c, "edge": e} for c, e in self.chain]
        return data

    def describe(self) -> str:
        """A one-line human explanation: path -> rule/owner -> edges -> lane root."""
        if self.code == "dependency" and self.chain:
            hops = " -> ".join(f"{c} ({e})" for c, e in self.chain)
            return f"{self.path} owned by {self.component} [{self.rule}]; lane {hops}"
        if self.code in ("global", "lane-path"):
            return f"{self.path} matches {self.code} rule {self.rule}"
        if self.code == "unmatched":
            return f"{self.path} is owned by no component and matches no rule (unmatched: all)"
        return self.code if self.path is None else f"{self.code}: {self.path}"


@dataclass
class PathResolution:
    """How one path resolved, for ``explain`` and the audits."""

    path: str
    kind: Literal["global", "matched", "ignored", "unmatched"]
    owner: Owner | None = None
    rule: str | None = None
    lanes: dict[str, Reason] = field(default_factory=dict)


@dataclass
class Selection:
    lanes: dict[str, bool]
    mode: Mode
    reasons: dict[str, list[Reason]]
    failsafe: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    basis: dict[str, Any] = field(default_factory=dict)
    unmatched_error: bool = False

    @property
    def selected(self) -> list[str]:
        return [lane for lane, on in self.lanes.items() if on]


@dataclass(frozen=True)
class Rules:
    """The path rules of a configuration, compiled once."""

    global_paths: GlobList
    ignore: GlobList
    lane_paths: dict[str, GlobList]
    lane_names: tuple[str, ...]
    unmatched: str

    @classmethod
    def from_config(cls, config: Config) -> Rules:
        return cls(
            global_paths=GlobList(config.global_paths),
            ignore=GlobList(config.ignore),
            lane_paths={n: GlobList(lane.paths) for n, lane in config.lanes.items() if lane.paths},
            lane_names=tuple(config.lanes),
            unmatched=config.unmatched,
        )


def resolve_path(path: str, rules: Rules, index: Index) -> PathResolution:
    """Steps (1)-(4) for one path."""
    global_rule = rules.global_paths.matching_pattern(path)
    if global_rule is not None:
        reason = Reason("global", path, global_rule)
        return PathResolution(
            path, "global", rule=global_rule, lanes=dict.fromkeys(rules.lane_names, reason)
        )
    result = PathResolution(path, "matched", owner=index.owner(path))
    for lane, globs in rules.lane_paths.items():
        pattern = globs.matching_pattern(path)
        if pattern is not None:
            result.lanes[lane] = Reason("lane-path", path, pattern)
    if result.owner is not None:
        for lane in index.covered_by.get(result.owner.component, []):
            result.lanes.setdefault(lane, _dependency_reason(path, result.owner, lane, index))
    if result.lanes or result.owner is not None:
        return result
    ignore_rule = rules.ignore.matching_pattern(path)
    if ignore_rule is not None:
        return PathResolution(path, "ignored", rule=ignore_rule)
    result.kind = "unmatched"
    if rules.unmatched == "all":
        reason = Reason("unmatched", path)
        result.lanes = dict.fromkeys(rules.lane_names, reason)
    return result


def _dependency_reason(path: str, owner: Owner, lane: str, index: Index) -> Reason:
    chain = tuple((step.component, step.edge) for step in index.chain(lane, owner.component))
    return Reason("dependency", path, owner.rule, owner.component, chain)


def select(
    paths: Iterable[str],
    rules: Rules,
    index: Index,
    *,
    uncertain: Iterable[str] = (),
    basis: dict[str, Any] | None = None,
    reasons_per_lane: int = 20,
) -> Selection:
    """Select lanes for ``paths``. ``uncertain`` reason codes force every lane (fail-safe)."""
    selection = Selection(
        lanes=dict.fromkeys(rules.lane_names, False),
        mode="precise",
        reasons={lane: [] for lane in rules.lane_names},
        basis=dict(basis or {}),
    )
    selection.failsafe = [*uncertain, *index.problems]
    for path in paths:
        resolution = resolve_path(path, rules, index)
        if resolution.kind == "ignored":
            selection.ignored.append(path)
        elif resolution.kind == "unmatched":
            selection.unmatched.append(path)
        for lane, reason in resolution.lanes.items():
            selection.lanes[lane] = True
            if len(selection.reasons[lane]) < reasons_per_lane:
                selection.reasons[lane].append(reason)
    if selection.unmatched and rules.unmatched == "all":
        selection.failsafe.append("unmatched")
    if selection.unmatched and rules.unmatched == "error":
        selection.unmatched_error = True
        selection.failsafe.append("unmatched")
    if selection.failsafe:
        _fail_safe(selection)
    return selection


def _fail_safe(selection: Selection) -> None:
    selection.mode = "fail-safe"
    codes = [code for code in dict.fromkeys(selection.failsafe) if code != "unmatched"]
    for lane in selection.lanes:
        selection.lanes[lane] = True
        selection.reasons[lane][:0] = [Reason(code) for code in codes]
