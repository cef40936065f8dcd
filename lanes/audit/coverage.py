"""The coverage audit: every tracked file -> owner component -> lanes, through the engine.

Pure: it takes the file list (from ``git ls-files``) and a loaded workspace. Each file is
resolved once with :func:`lanes.engine.resolve_path` (owners by directory lookups in the index),
and the results are aggregated into the findings a release manager acts on:

* ``unmatched``: files that fall to the ``unmatched`` policy (no owner, no rule);
* ``ignored``: files only an ``ignore`` rule accounts for;
* ``stale_globs``: globs of the configuration that match no tracked file;
* ``dead_lanes``: lanes no file selects except through ``global`` or ``unmatched``
  (:data:`lanes.engine.CATCH_ALL`: a file belongs to the lanes of
  :func:`lanes.engine.precise_lanes`, as the pytest plugin decides which tests a lane runs);
* ``uncovered_components``: components whose changes select no lane;
* ``missing``: lane roots and contract lanes that do not exist;
* ``contracts``: the results of ``lanes check``'s contracts;
* the component x lane matrix (how each lane reaches each component).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from lanes.commands.check import ContractResult, run_contracts
from lanes.config import Config
from lanes.engine import PathResolution, resolve_path
from lanes.globs import compile_glob
from lanes.workspace import Workspace

FAIL_ON_CONDITIONS = ("uncovered", "stale", "dead", "contracts")


@dataclass(frozen=True)
class GlobRule:
    """One glob of the configuration and the key it is listed under."""

    pattern: str
    key: str  # "global", "ignore", "lanes.<name>.paths", "components.<name>.exclude" ...
    line: int = 0
    column: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"pattern": self.pattern, "key": self.key, "line": self.line, "column": self.column}


@dataclass(frozen=True)
class MissingReference:
    kind: str  # "lane-root" | "contract-lane"
    name: str
    key: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "key": self.key}


@dataclass(frozen=True)
class DeadLane:
    lane: str
    why: str

    def to_json(self) -> dict[str, str]:
        return {"lane": self.lane, "why": self.why}


@dataclass
class ComponentCoverage:
    """One row of the matrix: how each lane reaches the component (edge label or ``paths``)."""

    name: str
    kind: str
    files: int = 0
    silent_files: int = 0  # owned files that select no lane
    lanes: dict[str, str] = field(default_factory=dict)

    @property
    def covered(self) -> bool:
        return bool(self.lanes)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "files": self.files,
            "silent_files": self.silent_files,
            "lanes": self.lanes,
        }


@dataclass
class CoverageReport:
    config_file: str
    revision: str | None
    lanes: tuple[str, ...]
    unmatched_policy: str
    files_total: int = 0
    global_files: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    silent: list[str] = field(default_factory=list)  # owned files selecting no lane
    lane_files: dict[str, int] = field(default_factory=dict)  # precise selections per lane
    stale_globs: list[GlobRule] = field(default_factory=list)
    dead_lanes: list[DeadLane] = field(default_factory=list)
    components: list[ComponentCoverage] = field(default_factory=list)
    missing: list[MissingReference] = field(default_factory=list)
    contracts: list[ContractResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # fail-safe reasons of the index

    @property
    def uncovered_components(self) -> list[ComponentCoverage]:
        return [c for c in self.components if not c.covered]

    @property
    def failed_contracts(self) -> list[ContractResult]:
        return [result for result in self.contracts if not result.ok]

    def conditions(self) -> dict[str, bool]:
        """Which ``--fail-on`` conditions hold."""
        return {
            "uncovered": bool(self.unmatched or self.silent or self.uncovered_components),
            "stale": bool(self.stale_globs),
            "dead": bool(self.dead_lanes),
            "contracts": bool(self.failed_contracts or self.missing or self.problems),
        }


def audit_coverage(
    files: Iterable[str], workspace: Workspace, *, revision: str | None = None
) -> CoverageReport:
    """The coverage audit of ``files`` (repository-relative) under ``workspace``."""
    config, index = workspace.config, workspace.index
    report = CoverageReport(
        config_file=config.file,
        revision=revision,
        lanes=tuple(config.lanes),
        unmatched_policy=config.unmatched,
        problems=list(index.problems),
    )
    rows = {
        name: ComponentCoverage(name, kind, lanes=_graph_lanes(name, workspace))
        for name, kind in sorted(index.kinds.items())
    }
    precise: Counter[str] = Counter()
    ordered = sorted(files)
    for path in ordered:
        resolution = resolve_path(path, workspace.rules, index)
        _record(report, rows, precise, resolution)
    report.files_total = len(ordered)
    report.lane_files = {lane: precise[lane] for lane in config.lanes}
    report.components = list(rows.values())
    report.dead_lanes = _dead_lanes(config, report, workspace)
    if workspace.configured:
        report.stale_globs = stale_globs(config_globs(config), ordered)
    report.missing = _missing_references(config, set(index.kinds))
    report.contracts = run_contracts(workspace)
    return report


def _graph_lanes(component: str, workspace: Workspace) -> dict[str, str]:
    coverage = workspace.index.coverage
    return {
        lane: coverage[lane][component][1]
        for lane in workspace.index.covered_by.get(component, [])
        if component in coverage.get(lane, {})
    }


def _record(
    report: CoverageReport,
    rows: dict[str, ComponentCoverage],
    precise: Counter[str],
    resolution: PathResolution,
) -> None:
    path = resolution.path
    if resolution.kind == "global":
        report.global_files.append(path)
        return
    if resolution.kind == "ignored":
        report.ignored.append(path)
        return
    if resolution.kind == "unmatched":
        report.unmatched.append(path)
        return
    precise.update(resolution.precise_lanes.keys())
    row = rows.get(resolution.owner.component) if resolution.owner else None
    if row is None:
        return
    row.files += 1
    for lane, reason in resolution.lanes.items():
        if reason.code == "lane-path":
            row.lanes.setdefault(lane, "paths")
    if not resolution.lanes:
        row.silent_files += 1
        report.silent.append(path)


def config_globs(config: Config) -> list[GlobRule]:
    """Every glob the configuration lists, with the key it is listed under."""
    listed: list[tuple[str, Sequence[str]]] = [
        ("global", config.global_paths),
        ("ignore", config.ignore),
    ]
    listed += [(f"lanes.{name}.paths", lane.paths) for name, lane in config.lanes.items()]
    for name, component in config.components.items():
        listed += [
            (f"components.{name}.paths", component.paths),
            (f"components.{name}.exclude", component.exclude),
        ]
    return [
        GlobRule(pattern, key, *config.mark(key))
        for key, patterns in listed
        for pattern in patterns
    ]


def literal_prefix(pattern: str) -> str:
    """The characters every match of ``pattern`` starts with (up to the first wildcard)."""
    for position, char in enumerate(pattern):
        if char in "*?[":
            return pattern[:position]
    return pattern


def _candidates(sorted_files: Sequence[str], prefix: str) -> Iterator[str]:
    """The files that start with ``prefix``, by bisection of the sorted list."""
    position = bisect_left(sorted_files, prefix)
    while position < len(sorted_files) and sorted_files[position].startswith(prefix):
        yield sorted_files[position]
        position += 1


def stale_globs(rules: Iterable[GlobRule], sorted_files: Sequence[str]) -> list[GlobRule]:
    """Globs (``!`` exclusions included) that match none of ``sorted_files``."""
    stale = []
    for rule in rules:
        pattern = rule.pattern.removeprefix("!")
        regex = compile_glob(pattern)
        if not any(
            regex.match(path) for path in _candidates(sorted_files, literal_prefix(pattern))
        ):
            stale.append(rule)
    return stale


def _dead_lanes(config: Config, report: CoverageReport, workspace: Workspace) -> list[DeadLane]:
    dead = []
    for name, lane in config.lanes.items():
        if report.lane_files.get(name):
            continue
        known = [root for root in lane.roots if root in workspace.index.kinds]
        shadowed = _global_only(name, report.global_files, workspace)
        if not lane.roots and not lane.paths:
            why = "no roots and no paths"
        elif lane.roots and not known:
            why = f"none of its roots exist ({', '.join(lane.roots)})"
        elif not shadowed:
            why = "no tracked file is owned by a component it covers or matches its paths"
        else:
            why = "no tracked file is owned by a component it covers" if lane.roots else "no roots"
        if shadowed:
            more = f" and {len(shadowed) - 1} more" if len(shadowed) > 1 else ""
            why += (
                f"; its paths match only global files ({shadowed[0]}{more}), which select"
                " every lane and so belong to none"
            )
        dead.append(DeadLane(name, why))
    return dead


def _global_only(lane: str, global_files: Sequence[str], workspace: Workspace) -> list[str]:
    """The global files the lane's ``paths`` match: global decides them first."""
    globs = workspace.rules.lane_paths.get(lane)
    return [path for path in global_files if globs.matches(path)] if globs is not None else []


def _missing_references(config: Config, components: set[str]) -> list[MissingReference]:
    missing = [
        MissingReference("lane-root", root, f"lanes.{name}.roots")
        for name, lane in config.lanes.items()
        for root in lane.roots
        if root not in components
    ]
    for number, contract in enumerate(config.contracts):
        missing += [
            MissingReference("contract-lane", lane, f"contracts[{number}]")
            for lane in (*contract.selects, *contract.not_selects)
            if lane not in config.lanes
        ]
    return missing
