"""What a lane's build compiles and installs: feature resolution over the component graph.

Pure: (components, edges, lane) -> the coverage tree. A lane builds its roots; building a
component builds the targets of its non-optional normal and build edges, and of its dev edges
where the lane's ``include_dev`` says so (Cargo and Python: the roots' own, one hop; JS: every
package's, because a workspace package is built with its devDependencies before its dependents
use it). An optional edge is built only once a feature of its source enables it, as Cargo
resolves features: the roots start with the lane's ``features`` (Cargo, ``default`` unless the lane
says otherwise), ``extras`` and ``groups`` (Python, all of the roots' own by default); a built
edge requests its ``features`` on the target, plus the target's ``default`` unless
``default_features`` is false; ``dep:d``, ``d/f`` and weak ``d?/f`` behave as in Cargo. Extras of
components further down count only when an edge along the way requests them.

The coverage tree maps each built component to ``(parent, edge label)``; the label names the edge
kind and, for an optional edge, the feature chain that turned it on (``lanes explain`` shows it).
"""

from collections import deque
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from lanes.config import LaneSpec
from lanes.model import Component, Edge

RUNTIME_KINDS = frozenset({"normal", "build"})
GROUP_PREFIX = "group:"
# Components whose devDependencies are built for their dependents too (see the module docstring).
TRANSITIVE_DEV_KINDS = frozenset({"npm"})


class Graph(NamedTuple):
    """Edges by source and feature tables, derived once per index build."""

    kinds: Mapping[str, str]
    edges: Mapping[str, tuple[Edge, ...]]
    features: Mapping[str, Mapping[str, tuple[str, ...]]]

    @classmethod
    def build(cls, components: Iterable[Component], edges: Iterable[Edge]) -> "Graph":
        by_source: dict[str, list[Edge]] = {}
        for edge in dict.fromkeys(edges):
            by_source.setdefault(edge.source, []).append(edge)
        components = list(components)
        return cls(
            kinds={c.name: c.kind for c in components},
            edges={source: tuple(found) for source, found in by_source.items()},
            features={c.name: dict(c.features) for c in components if c.features},
        )


Tree = dict[str, tuple[str, str]]


class _Resolution:
    """One lane's fixed point: built components, enabled features and enabled dependencies."""

    def __init__(self, graph: Graph, lane: LaneSpec) -> None:
        self.graph = graph
        self.lane = lane
        self.roots = frozenset(r for r in lane.roots if r in graph.kinds)
        self.tree: Tree = {}
        self.enabled: dict[tuple[str, str], str] = {}  # (component, feature) -> why
        self.deps_on: set[tuple[str, str]] = set()
        self.weak: dict[tuple[str, str], list[str]] = {}
        self.built_edges: set[Edge] = set()
        self.queue: deque[tuple[Edge, str]] = deque()
        # ``crate/feature`` entries of the lane for crates below the roots: on once built.
        self.requested: dict[str, list[str]] = {}

    def run(self) -> Tree:
        for root in sorted(self.roots):
            self.tree.setdefault(root, ("", "root"))
        for root in sorted(self.roots):
            self._build(root)
            for feature in root_features(self.graph, self.lane, root):
                self._enable(root, feature, "lane")
        for component, feature in dependency_features(self.graph, self.lane):
            if component in self.tree:
                self._enable(component, feature, "lane")
            else:
                self.requested.setdefault(component, []).append(feature)
        while self.queue:
            edge, label = self.queue.popleft()
            self._build_edge(edge, label)
        return self.tree

    def _dev_allowed(self, component: str) -> bool:
        include = self.lane.include_dev
        if include is False:
            return False
        if component in self.roots:
            return True
        return include is True and self.graph.kinds.get(component) in TRANSITIVE_DEV_KINDS

    def _edge_allowed(self, edge: Edge) -> bool:
        return edge.kind in RUNTIME_KINDS or (edge.kind == "dev" and self._dev_allowed(edge.source))

    def _build(self, component: str) -> None:
        for edge in self.graph.edges.get(component, ()):
            if not edge.optional and self._edge_allowed(edge):
                label = f"{edge.kind}+lockfile-edge" if edge.lockfile_only else edge.kind
                self.queue.append((edge, label))

    def _build_edge(self, edge: Edge, label: str) -> None:
        if edge in self.built_edges:
            return
        self.built_edges.add(edge)
        target = edge.target
        if target not in self.graph.kinds:
            return
        if target not in self.tree:
            self.tree[target] = (edge.source, label)
            self._build(target)
            for feature in self.requested.pop(target, ()):
                self._enable(target, feature, "lane")
        why = f"{edge.source} -> {target}"
        if edge.default_features:
            self._enable(target, "default", why)
        for feature in edge.features:
            self._enable(target, feature, why)
        for feature in self.weak.get((edge.source, edge.key), ()):
            self._enable(target, feature, why)

    def _enable(self, component: str, feature: str, why: str) -> None:
        if (component, feature) in self.enabled:
            return
        self.enabled[component, feature] = why
        table = self.graph.features.get(component, {})
        values = table.get(feature)
        if values is None:
            # Cargo's implicit feature of an optional dependency (when no explicit one names it).
            self._enable_dep(component, feature, feature)
            return
        for value in values:
            self._apply(component, value, feature)

    def _apply(self, component: str, value: str, feature: str) -> None:
        if value.startswith("dep:"):
            self._enable_dep(component, value[4:], feature)
            return
        dep, slash, wanted = value.partition("/")
        if not slash:
            self._enable(component, value, feature)
            return
        if dep.endswith("?"):
            dep = dep[:-1]
            self.weak.setdefault((component, dep), []).append(wanted)
            for edge in self._edges_of(component, dep):
                if edge in self.built_edges:
                    self._enable(edge.target, wanted, f"{component}/{feature}")
            return
        self.weak.setdefault((component, dep), []).append(wanted)
        self._enable_dep(component, dep, feature)
        for edge in self._edges_of(component, dep):
            if edge in self.built_edges:
                self._enable(edge.target, wanted, f"{component}/{feature}")

    def _edges_of(self, component: str, dep: str) -> list[Edge]:
        return [e for e in self.graph.edges.get(component, ()) if e.key == dep]

    def _enable_dep(self, component: str, dep: str, feature: str) -> None:
        if (component, dep) in self.deps_on:
            return
        self.deps_on.add((component, dep))
        for edge in self._edges_of(component, dep):
            if edge.optional and self._edge_allowed(edge):
                label = f"{edge.kind}+optional via {self._origin(component, feature)}"
                self.queue.append((edge, label))

    def _origin(self, component: str, feature: str) -> str:
        """``component/feature``, with the features that led to it (``rkat/default > mob``)."""
        trail = [feature]
        current = feature
        while len(trail) < 8:
            why = self.enabled.get((component, current))
            if why is None or why == "lane" or " -> " in why or "/" in why:
                break
            trail.append(why)
            current = why
        return f"{component}/{' > '.join(reversed(trail))}"


def root_features(graph: Graph, lane: LaneSpec, root: str) -> list[str]:
    """The features ``lane`` turns on for ``root``: Cargo ``features``, Python ``extras`` and
    ``groups`` (``group:<name>`` features)."""
    table = graph.features.get(root, {})
    groups = [name for name in table if name.startswith(GROUP_PREFIX)]
    others = [name for name in table if not name.startswith(GROUP_PREFIX)]
    kind = graph.kinds.get(root)
    chosen: list[str] = []
    if kind == "python":
        chosen += _select(lane.extras, others, root, default=others)
        chosen += [
            f"{GROUP_PREFIX}{name}"
            for name in _select(
                lane.groups, [g.removeprefix(GROUP_PREFIX) for g in groups], root, default=[]
            )
        ]
        # "all" also reaches an optional edge no extra or group names (nothing may drop it).
        for selector, dev in ((lane.extras, False), (lane.groups, True)):
            if selector == "all":
                chosen += _optional_keys(graph, root, dev)
    else:
        if isinstance(lane.features, tuple):  # as ``cargo --features``: on top of the defaults
            chosen.append("default")
        chosen += _select(lane.features, others, root, default=["default"])
        if lane.features == "all":  # --all-features: every optional dependency too
            chosen += _optional_keys(graph, root, None)
    return chosen


def _optional_keys(graph: Graph, root: str, dev: bool | None) -> list[str]:
    """The keys of ``root``'s optional edges (``dev``: only dev ones, or only others; None: all)."""
    return sorted(
        {
            e.key
            for e in graph.edges.get(root, ())
            if e.optional and (dev is None or (e.kind == "dev") == dev)
        }
    )


def _select(selector: object, available: list[str], root: str, default: list[str]) -> list[str]:
    if selector == "default":
        return default
    if selector == "all":
        return available
    if selector == "none" or not isinstance(selector, tuple):
        return []
    chosen = []
    for entry in selector:
        owner, slash, name = str(entry).rpartition("/")
        if not slash or owner == root:
            chosen.append(name)
    return chosen


def dependency_features(graph: Graph, lane: LaneSpec) -> list[tuple[str, str]]:
    """The lane's ``crate/feature`` entries for crates that are not among its roots (Cargo's
    ``--features crate/feature``): enabled on ``crate`` whenever the lane builds it."""
    if not isinstance(lane.features, tuple):
        return []
    found = []
    for entry in lane.features:
        owner, slash, name = entry.rpartition("/")
        if slash and owner not in lane.roots and owner in graph.kinds:
            found.append((owner, name))
    return found


def unknown_features(graph: Graph, lane: LaneSpec) -> list[str]:
    """Listed features, extras and groups that no root of ``lane`` defines (reason codes)."""
    problems = []
    for key, selector in (("features", lane.features), ("extras", lane.extras)):
        if not isinstance(selector, tuple):
            continue
        for entry in selector:
            owner, slash, name = entry.rpartition("/")
            roots = [owner] if slash else list(lane.roots)
            if not any(name in graph.features.get(r, {}) or _is_dep(graph, r, name) for r in roots):
                problems.append(f"unknown-feature: {entry} ({key} of lane {lane.name})")
    if isinstance(lane.groups, tuple):
        for entry in lane.groups:
            owner, slash, name = entry.rpartition("/")
            roots = [owner] if slash else list(lane.roots)
            if not any(f"{GROUP_PREFIX}{name}" in graph.features.get(r, {}) for r in roots):
                problems.append(f"unknown-feature: {entry} (groups of lane {lane.name})")
    return problems


def _is_dep(graph: Graph, component: str, name: str) -> bool:
    return any(e.optional and e.key == name for e in graph.edges.get(component, ()))


def lane_tree(graph: Graph, lane: LaneSpec) -> Tree:
    """What ``lane`` builds: component -> (parent, edge label), rooted at the lane's roots."""
    return _Resolution(graph, lane).run()
