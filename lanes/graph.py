"""Build the dependency graph and derive the index from it (networkx only for ``build_graph``).

Discovered components own their manifest's directory; explicit components from ``lanes.yml`` add
to them or override them. A lane covers what its build compiles and installs, resolved by
``lanes.features`` (features, extras, groups and dev-dependencies as the package managers do).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from lanes.config import DISCOVER_KINDS, Config, LaneSpec
from lanes.features import Graph, lane_tree, unknown_features
from lanes.index import ExplicitOwner, Index
from lanes.model import Component, Discovery, Edge

if TYPE_CHECKING:
    import networkx as nx


def duplicate_names(discovery: Discovery) -> list[str]:
    """Names two ecosystems both discovered (a crate and an npm package called ``core``)."""
    kinds: dict[str, set[str]] = {}
    for component in discovery.components:
        kinds.setdefault(component.name, set()).add(component.kind)
    return [
        f"duplicate-component: {name} ({', '.join(sorted(found))})"
        for name, found in sorted(kinds.items())
        if len(found) > 1
    ]


def discovery_codes(config: Config, discovery: Discovery) -> list[str]:
    """The reason code of each discovery problem, but for an ``unlocked-dependencies`` one of a
    uv root the configuration's ``third_party_never_requires_local`` names: that statement is
    the record the missing lock would have been. Such a code once: two roots that lock the same
    project may name the same requirement."""
    stated = set(config.third_party_never_requires_local)
    codes: list[str] = []
    unlocked: set[str] = set()
    for error in discovery.errors:
        code = error.code()
        if error.root is not None and (error.root in stated or code in unlocked):
            continue
        if error.root is not None:
            unlocked.add(code)
        codes.append(code)
    return codes


def merge_components(config: Config, discovery: Discovery) -> tuple[list[Component], list[Edge]]:
    """Discovered components with the explicit ones from the configuration laid over them."""
    components = {c.name: c for c in discovery.components}
    edges = list(discovery.edges)
    for spec in config.components.values():
        base = components.get(spec.name)
        if base is not None and not spec.paths:
            components[spec.name] = base._replace(exclude=spec.exclude)  # keeps its ownership
        else:
            components[spec.name] = Component(
                spec.name,
                "explicit",
                paths=spec.paths,
                exclude=spec.exclude,
                reads=base.reads if base is not None else (),
            )
        edges += [Edge(spec.name, target, "normal") for target in spec.depends_on]
        edges += [Edge(spec.name, target, "dev") for target in spec.dev_depends_on]
    return sorted(components.values(), key=lambda c: c.name), edges


def build_graph(components: Iterable[Component], edges: Iterable[Edge]) -> nx.DiGraph[str]:
    """A DiGraph whose edge attribute ``kinds`` is the set of ``(kind, optional)`` pairs."""
    import networkx as nx

    graph: nx.DiGraph[str] = nx.DiGraph()
    for component in components:
        graph.add_node(component.name, kind=component.kind)
    for edge in edges:
        if graph.has_edge(edge.source, edge.target):
            graph.edges[edge.source, edge.target]["kinds"].add((edge.kind, edge.optional))
        else:
            graph.add_edge(edge.source, edge.target, kinds={(edge.kind, edge.optional)})
    return graph


def lane_coverage(graph: Graph, lane: LaneSpec) -> dict[str, tuple[str, str]]:
    """What ``lane`` builds (component -> (parent, edge label)); see ``lanes.features``."""
    return lane_tree(graph, lane)


def _problems(
    config: Config, kinds: dict[str, str], features: Graph, discovery: Discovery
) -> list[str]:
    """``kinds``: component -> kind (plain dictionaries: importing networkx for this would cost
    more than building the whole index)."""
    problems = discovery_codes(config, discovery) + duplicate_names(discovery)
    for lane in config.lanes.values():
        problems += [_unknown(kinds, root, f"lane {lane.name}") for root in lane.roots]
        problems += unknown_features(features, lane)
    for spec in config.components.values():
        for target in (*spec.depends_on, *spec.dev_depends_on):
            if target not in kinds:
                problems.append(_unknown(kinds, target, f"component {spec.name}"))
    return [problem for problem in problems if problem]


def _unknown(kinds: dict[str, str], name: str, where: str) -> str:
    """The reason code for a name the graph lacks: ``unknown-component``, or
    ``ambiguous-component`` when two ecosystems use it (discovery qualified both); ""."""
    if name in kinds:
        return ""
    qualified = [f"{kind}:{name}" for kind in DISCOVER_KINDS if f"{kind}:{name}" in kinds]
    if len(qualified) > 1:
        return f"ambiguous-component: {name} ({where}; use one of {', '.join(qualified)})"
    return f"unknown-component: {name} ({where})"


def is_script(component: Component) -> bool:
    """A PEP 723 script discovered as a component (it owns its file by path)."""
    manifest = component.manifest or ""
    return component.kind == "python" and component.directory is None and manifest.endswith(".py")


def _owners(components: list[Component]) -> list[ExplicitOwner]:
    """The path owners, those of the configuration first: they win a tie of depth."""
    owners = [c for c in components if c.paths]
    owners.sort(key=lambda c: (c.kind != "explicit", is_script(c)))
    return [ExplicitOwner(c.name, c.paths, c.exclude) for c in owners]


def _previous_owners(components: list[Component], base: Index) -> list[Component]:
    """``components`` with each discovered script's files read by the component that owns
    them when scripts are no components (``base``), and by the script itself (a component of
    the configuration whose paths name the file wins it): a change to a script selects what it
    selected before, and the lanes covering the script."""
    extra: dict[str, list[str]] = {}
    for component in components:
        if is_script(component) and component.manifest:
            extra.setdefault(component.name, []).extend(component.paths)
            owner = base.owner(component.manifest)
            if owner is not None and owner.component != component.name:
                extra.setdefault(owner.component, []).extend(component.paths)
    return [
        c._replace(reads=tuple(dict.fromkeys((*c.reads, *extra[c.name])))) if c.name in extra else c
        for c in components
    ]


def _owned(
    components: list[Component],
) -> tuple[dict[str, str], dict[str, list[str]], list[ExplicitOwner]]:
    """The ``Index`` fields that decide who owns a path: ``directories``,
    ``directory_excludes`` and ``explicit``."""
    by_directory = {c.directory: c for c in components if not c.paths and c.directory is not None}
    directories = {directory: c.name for directory, c in by_directory.items()}
    excludes = {c.name: list(c.exclude) for c in by_directory.values() if c.exclude}
    return directories, excludes, _owners(components)


def _ownership(components: list[Component]) -> Index:
    """An index that answers only who owns a path (``Index.owner``)."""
    directories, excludes, explicit = _owned(components)
    return Index(
        kinds={},
        manifests={},
        directories=directories,
        directory_excludes=excludes,
        explicit=explicit,
        coverage={},
        covered_by={},
        edges=[],
        problems=[],
    )


def build_index(config: Config, discovery: Discovery) -> Index:
    components, edges = merge_components(config, discovery)
    if any(is_script(c) for c in components):
        plain = [c for c in components if not is_script(c)]
        components = _previous_owners(components, _ownership(plain))
    kinds: dict[str, str] = {c.name: c.kind for c in components}
    features = Graph.build(components, edges)
    coverage = {lane.name: lane_coverage(features, lane) for lane in config.lanes.values()}
    covered_by: dict[str, list[str]] = {}
    for lane, tree in coverage.items():
        for covered in tree:
            covered_by.setdefault(covered, []).append(lane)
    directories, excludes, explicit = _owned(components)
    return Index(
        kinds=kinds,
        manifests={c.name: c.manifest for c in components if c.manifest},
        directories=directories,
        directory_excludes=excludes,
        explicit=explicit,
        coverage=coverage,
        covered_by=covered_by,
        edges=sorted({(e.source, e.target, e.kind, e.optional) for e in edges}),
        problems=_problems(config, kinds, features, discovery),
        global_inputs=tuple(sorted(set(discovery.global_inputs))),
        lockfile_edges=tuple(
            sorted({(e.source, e.target, e.kind) for e in edges if e.lockfile_only})
        ),
        lockfile_gaps=tuple(sorted(set(discovery.lock_gaps))),
        readers=tuple((c.name, c.reads) for c in components if c.reads),
    )
