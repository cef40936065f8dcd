"""The pure selection core: (changed paths, index, configuration) -> selection.

No I/O. Resolving one changed path, in order: (1) ``global`` (and the workspace inputs discovery
found: root manifests, lockfiles) selects every lane; (2) every lane
whose ``paths`` match it; (3) its owner component selects every lane whose coverage contains it;
(4) if neither (2) nor (3) applied: ``ignore`` selects nothing, otherwise the ``unmatched`` policy
applies. Any uncertainty (unknown base, git error, manifest error, unknown component, unmatched
path under ``all``) selects every lane and records a reason code.

With a :class:`lanes.graphdiff.Comparison` (``detect --base``), each path is also resolved
against the base revision's index (reasons ``graph: base``), the components whose build the
change altered select their lanes (``manifest-change``, ``lockfile-change``), and the built-in
global inputs the comparison refined select only those (a refined nested workspace's lock: those
and the lanes of whatever owns or reads it outside that workspace).
"""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from lanes.config import Config
from lanes.globs import GlobList, GlobTable
from lanes.index import Index, Owner

if TYPE_CHECKING:
    from lanes.graphdiff import Comparison, Mark

Mode = Literal["precise", "fail-safe"]
MANIFEST_CHANGE = "manifest-change"
LOCKFILE_CHANGE = "lockfile-change"
WORKSPACE_INPUT = "workspace input"
"""The ``global`` rule of a file discovery found every build reads (a workspace root manifest,
a lockfile), whether or not the configuration lists it."""


class Reason(NamedTuple):
    """Why one lane was selected: a reason code plus the explanation chain as data."""

    code: str  # global | lane-path | dependency | unmatched | fail-safe codes
    path: str | None = None
    rule: str | None = None
    component: str | None = None
    chain: tuple[tuple[str, str], ...] = ()  # (component, edge) from the lane root down
    detail: str | None = None  # what changed (manifest-change, lockfile-change), why not refined
    graph: str | None = None  # "base" when only the base revision's graph gives this lane

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
        if self.detail is not None:
            data["detail"] = self.detail
        if self.graph is not None:
            data["graph"] = self.graph
        return data

    def describe(self) -> str:
        """A one-line human explanation: path -> rule/owner -> edges -> lane root."""
        text = self._described()
        return text if self.graph is None else f"{text} (graph: {self.graph})"

    def _described(self) -> str:
        hops = " -> ".join(f"{c} ({e})" for c, e in self.chain)
        if self.code == "dependency" and self.chain:
            text = f"{self.path} owned by {self.component} [{self.rule}]; lane {hops}"
            return text if self.detail is None else f"{text} ({self.detail})"
        if self.code in ("global", "lane-path"):
            text = f"{self.path} matches {self.code} rule {self.rule}"
            return text if self.detail is None else f"{text} ({self.detail})"
        if self.code == "unmatched":
            return f"{self.path} is owned by no component and matches no rule (unmatched: all)"
        if self.code in (MANIFEST_CHANGE, LOCKFILE_CHANGE):
            lane = f"; lane {hops}" if hops else ""
            return f"{self.code}: {self.detail} [{self.path}]{lane}"
        return self.code if self.path is None else f"{self.code}: {self.path}"


class PathResolution(NamedTuple):
    """How one path resolved, for ``explain`` and the audits."""

    path: str
    kind: Literal["global", "matched", "ignored", "unmatched", "unclear"]
    owner: Owner | None
    rule: str | None
    lanes: dict[str, Reason]

    @property
    def precise_lanes(self) -> dict[str, Reason]:
        """The lanes this path selects for a reason of its own (:func:`precise_lanes`)."""
        return {lane: r for lane, r in self.lanes.items() if r.code not in CATCH_ALL}


class Selection(NamedTuple):
    lanes: dict[str, bool]
    mode: Mode
    reasons: dict[str, list[Reason]]
    failsafe: list[str]
    unmatched: list[str]
    ignored: list[str]
    basis: dict[str, Any]
    unmatched_error: bool

    @property
    def selected(self) -> list[str]:
        return [lane for lane, on in self.lanes.items() if on]


class Rules(NamedTuple):
    """The path rules of a configuration, compiled once."""

    global_paths: GlobList
    ignore: GlobList
    lane_paths: dict[str, GlobList]
    lane_names: tuple[str, ...]
    unmatched: str
    table: GlobTable  # all of the above in one set: one match per path

    @classmethod
    def from_config(cls, config: Config) -> "Rules":
        global_paths = GlobList(config.global_paths)
        ignore = GlobList(config.ignore)
        lane_paths = {n: GlobList(lane.paths) for n, lane in config.lanes.items() if lane.paths}
        return cls(
            global_paths=global_paths,
            ignore=ignore,
            lane_paths=lane_paths,
            lane_names=tuple(config.lanes),
            unmatched=config.unmatched,
            table=GlobTable(
                [(_GLOBAL, global_paths), (_IGNORE, ignore)]
                + [((_LANE, name), globs) for name, globs in lane_paths.items()]
            ),
        )


_GLOBAL, _IGNORE, _LANE = "global", "ignore", "lane"
"""Keys of :attr:`Rules.table`: a lane's list is keyed ``(_LANE, name)``."""


UNCLEAR = "unclear-path"
CATCH_ALL = frozenset({"global", "unmatched", UNCLEAR})
"""Reason codes of the fallbacks that select every lane whatever the path (``global``, the
``unmatched`` policy, an unclear path): they make no lane reachable from the path."""


def unclear_path(path: str) -> bool:
    """A path git never reports: absolute, or with an empty, ``.`` or ``..`` segment. Its
    prefix must not decide its owner (``app/../util/u.rs`` is not in ``app``), so it selects
    every lane (reason ``unclear-path``) instead of being resolved."""
    framed = f"/{path}/"
    return path.startswith("/") or "/../" in framed or "/./" in framed or "//" in framed


class _Resolver:
    """Resolves paths against one (rules, index) pair, and with a comparison against the base
    revision's index as well, walking each lane's chain to a component once however many
    changed files that component owns."""

    def __init__(self, rules: Rules, index: Index, comparison: "Comparison | None" = None) -> None:
        self.rules = rules
        self.index = index
        self.chains: dict[tuple[str, str, str], tuple[tuple[str, str], ...]] = {}
        self.global_inputs = frozenset(index.global_inputs)
        self.base = comparison.base if comparison is not None else None
        self.refined: frozenset[str] = frozenset()
        self.kept: dict[str, str] = {}
        self.scopes: dict[str, frozenset[str]] = {}
        self.marks: dict[str, list[Mark]] = {}
        if comparison is not None:
            self.global_inputs |= frozenset(comparison.base.global_inputs)
            self.refined, self.kept = comparison.refined, dict(comparison.kept)
            self.scopes = dict(comparison.scopes)
            for mark in comparison.marks:
                self.marks.setdefault(mark.path, []).append(mark)

    def resolve(self, path: str, *, directory: bool = False) -> PathResolution:
        rules = self.rules
        if unclear_path(path[:-1] if directory and path.endswith("/") else path):
            reason = Reason(UNCLEAR, path)
            return PathResolution(
                path, "unclear", None, None, dict.fromkeys(rules.lane_names, reason)
            )
        refined = path in self.refined
        decided = rules.table.deciding(path)
        global_rule = None if refined else decided.get(_GLOBAL)
        if global_rule is None and path in self.global_inputs and not refined:
            global_rule = WORKSPACE_INPUT
        if global_rule is not None:
            reason = Reason("global", path, global_rule, detail=self.kept.get(path))
            return PathResolution(
                path, "global", None, global_rule, dict.fromkeys(rules.lane_names, reason)
            )
        lanes = self._marked(path)
        if decided:  # most paths match no glob at all
            for lane in rules.lane_paths:
                pattern = decided.get((_LANE, lane))
                if pattern is not None:
                    lanes.setdefault(lane, Reason("lane-path", path, pattern))
        if refined and path not in self.scopes:
            # its marks and lane paths are all it selects: the file builds nothing
            return PathResolution(path, "matched", None, "refined", lanes)
        owner = self._add_owners(lanes, path, self.scopes.get(path, frozenset()))
        if refined:
            return PathResolution(path, "matched", owner, "refined", lanes)
        if lanes or owner is not None:
            return PathResolution(path, "matched", owner, None, lanes)
        ignore_rule = decided.get(_IGNORE)
        if ignore_rule is not None:
            return PathResolution(path, "ignored", None, ignore_rule, {})
        if rules.unmatched == "all":
            lanes = dict.fromkeys(rules.lane_names, Reason("unmatched", path))
        return PathResolution(path, "unmatched", None, None, lanes)

    def _add_owners(
        self, lanes: dict[str, Reason], path: str, replaced: frozenset[str]
    ) -> Owner | None:
        """The lanes of ``path``'s owner and readers in either graph, except the ``replaced``
        components (a refined lock's marks stand for them); returns the owner (else the first
        reader) for the resolution."""
        indexes = [self.index] if self.base is None else [self.index, self.base]
        candidates = [(index.owner(path), index) for index in indexes]
        for index in indexes:
            if index.readers:
                candidates += [(reader, index) for reader in index.readers_of(path)]
        found = None
        for who, index in candidates:
            if who is not None and who.component not in replaced:
                self._add_dependents(lanes, path, who, index)
                found = found or who
        return found

    def _chain(self, lane: str, component: str, index: Index) -> tuple[tuple[str, str], ...]:
        key = (lane, component, "head" if index is self.index else "base")
        chain = self.chains.get(key)
        if chain is None:
            chain = self.chains[key] = tuple(index.chain(lane, component))
        return chain

    def _add_dependents(
        self, lanes: dict[str, Reason], path: str, owner: Owner, index: Index
    ) -> None:
        """The lanes covering ``owner`` in ``index``, each with its chain (lanes already in
        ``lanes`` keep their reason)."""
        graph = None if index is self.index else "base"
        detail = self.kept.get(path)  # why a lock below the top was not refined
        for lane in index.covered_by.get(owner.component, ()):
            if lane not in lanes:
                chain = self._chain(lane, owner.component, index)
                lanes[lane] = Reason(
                    "dependency", path, owner.rule, owner.component, chain, detail, graph
                )

    def _marked(self, path: str) -> dict[str, Reason]:
        """The lanes covering, in either graph, the components whose build the change to
        ``path`` altered (``manifest-change``, ``lockfile-change``)."""
        lanes: dict[str, Reason] = {}
        for mark in self.marks.get(path, ()):
            for index in (self.index, self.base):
                if index is None:
                    continue
                graph = None if index is self.index else "base"
                for lane in index.covered_by.get(mark.component, []):
                    chain = self._chain(lane, mark.component, index)
                    reason = Reason(
                        mark.code, path, None, mark.component, chain, mark.detail, graph
                    )
                    lanes.setdefault(lane, reason)
        return lanes


def resolve_path(
    path: str,
    rules: Rules,
    index: Index,
    *,
    directory: bool = False,
    comparison: "Comparison | None" = None,
) -> PathResolution:
    """Steps (1)-(4) for one path; ``directory``: ``path`` names a directory (``dir/``), which
    ``lanes explain`` resolves as what owns it (a changed path ending in ``/`` is unclear).
    ``comparison``: resolve against the base revision's graph too (``lanes.graphdiff``)."""
    return _Resolver(rules, index, comparison).resolve(path, directory=directory)


def precise_lanes(
    path: str, rules: Rules, index: Index, *, comparison: "Comparison | None" = None
) -> dict[str, Reason]:
    """The lanes a change to ``path`` alone selects for a reason of its own, each with that
    reason: its owner's and its readers' lanes (``dependency``), the lanes whose ``paths``
    match it (``lane-path``), and with a ``comparison`` the marks of its diff. What only the
    select-all fallbacks give (:data:`CATCH_ALL`: ``global``, ``unmatched``) does not count,
    or every path would belong to every lane. The same resolution as ``lanes detect``: the
    pytest plugin and the coverage audit decide which lanes a file belongs to with it."""
    return resolve_path(path, rules, index, comparison=comparison).precise_lanes


def select(
    paths: Iterable[str],
    rules: Rules,
    index: Index,
    *,
    uncertain: Iterable[str] = (),
    basis: dict[str, Any] | None = None,
    reasons_per_lane: int = 20,
    comparison: "Comparison | None" = None,
) -> Selection:
    """Select lanes for ``paths``. ``uncertain`` reason codes force every lane (fail-safe).
    ``comparison`` (``lanes.graphdiff``): each path is resolved against the base revision's
    graph too, and the components whose build the change altered select their lanes."""
    selected = dict.fromkeys(rules.lane_names, False)
    reasons: dict[str, list[Reason]] = {lane: [] for lane in rules.lane_names}
    failsafe = [*uncertain, *index.problems]
    if comparison is not None:
        failsafe += comparison.failsafe
    unmatched: list[str] = []
    ignored: list[str] = []
    resolver = _Resolver(rules, index, comparison)
    for path in paths:
        resolution = resolver.resolve(path)
        if resolution.kind == "ignored":
            ignored.append(path)
        elif resolution.kind == "unmatched":
            unmatched.append(path)
        elif resolution.kind == "unclear" and UNCLEAR not in failsafe:
            failsafe.append(UNCLEAR)
        for lane, reason in resolution.lanes.items():
            selected[lane] = True
            if len(reasons[lane]) < reasons_per_lane:
                reasons[lane].append(reason)
    if unmatched and rules.unmatched in ("all", "error"):
        failsafe.append("unmatched")
    if failsafe:
        _fail_safe(selected, reasons, failsafe)
    return Selection(
        lanes=selected,
        mode="fail-safe" if failsafe else "precise",
        reasons=reasons,
        failsafe=failsafe,
        unmatched=unmatched,
        ignored=ignored,
        basis=dict(basis or {}),
        unmatched_error=bool(unmatched) and rules.unmatched == "error",
    )


def _fail_safe(
    selected: dict[str, bool], reasons: dict[str, list[Reason]], failsafe: list[str]
) -> None:
    """Every lane on, each led by the fail-safe reason codes (``unmatched`` paths have theirs)."""
    codes = [code for code in dict.fromkeys(failsafe) if code not in ("unmatched", UNCLEAR)]
    for lane in selected:
        selected[lane] = True
        reasons[lane][:0] = [Reason(code) for code in codes]
