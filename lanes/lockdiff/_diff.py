"""The semantic diff of two lock graphs: which packages changed, and which members reach them.

A node changed when it is in one lock only (its identifier carries name, version and source),
or when it is in both and a fact (checksum, dependency specs, metadata), its membership or its
dependencies on nodes present in both locks differ. Dependencies that moved to a changed node
are not a change of their own: the changed node is reported. Which changes each node reaches is
computed once per lock, over its strongly connected components (a bit set per component), and
each member's closure is the union over both locks, so the cost is linear in the lock's size
(times the number of changes / 64 words for the bit sets).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from lanes.lockdiff._model import LocalPackage, LockDiff, LockGraph, Node, PackageChange

_EMPTY = LockGraph({}, {}, [])
_MAX_DANGLING = 5


def diff_graphs(path: str, old: LockGraph | None, new: LockGraph | None) -> LockDiff:
    before, after = old or _EMPTY, new or _EMPTY
    aspects = _changed(before, after)
    reached, attributed = _reach(before, after, aspects)
    unattributed: list[str] = []
    if old is not None and new is not None:
        unattributed.extend(_settings(path, before.settings, after.settings))
    leftover = [ident for ident in aspects if ident not in attributed]
    for change in _grouped(before, after, aspects, leftover, leftover):
        unattributed.append(f"{path}: {change.describe()}: no workspace member reaches it")
    if aspects or unattributed:
        unattributed.extend(_dangling(path, [*before.dangling, *after.dangling]))
    return LockDiff(reached, tuple(unattributed), _members(before, after))


def _members(*graphs: LockGraph) -> frozenset[LocalPackage]:
    return frozenset(n.local for g in graphs for n in g.nodes.values() if n.local is not None)


def _changed(before: LockGraph, after: LockGraph) -> dict[str, tuple[str, ...]]:
    """Each changed identifier: ``()`` when in one lock only, else the aspects that differ."""
    changed: dict[str, tuple[str, ...]] = {}
    for ident in before.nodes.keys() ^ after.nodes.keys():
        changed[ident] = ()
    for ident in before.nodes.keys() & after.nodes.keys():
        found = _aspects(before, after, before.nodes[ident], after.nodes[ident])
        if found:
            changed[ident] = found
    return changed


def _aspects(before: LockGraph, after: LockGraph, old: Node, new: Node) -> tuple[str, ...]:
    old_facts, new_facts = dict(old.facts), dict(new.facts)
    found = [
        name
        for name in sorted(old_facts.keys() | new_facts.keys())
        if old_facts.get(name) != new_facts.get(name)
    ]
    old_stable = {dep for dep in old.deps if dep in after.nodes}
    new_stable = {dep for dep in new.deps if dep in before.nodes}
    if old_stable != new_stable and "dependencies" not in found:
        found.append("dependencies")
    if old.local != new.local:
        found.append("membership")
    return tuple(found)


def _reach(
    before: LockGraph, after: LockGraph, aspects: dict[str, tuple[str, ...]]
) -> tuple[dict[LocalPackage, tuple[PackageChange, ...]], set[str]]:
    members: dict[LocalPackage, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for side, graph in enumerate((before, after)):
        for ident, node in graph.nodes.items():
            if node.local is not None:
                members[node.local][side].append(ident)
    reached: dict[LocalPackage, tuple[PackageChange, ...]] = {}
    attributed: set[str] = set()
    if not aspects:
        return reached, attributed
    order = sorted(aspects)
    bit = {ident: 1 << index for index, ident in enumerate(order)}
    reach_old, reach_new = _reach_bits(before, bit), _reach_bits(after, bit)
    for member in sorted(members, key=_member_order):
        starts_old, starts_new = members[member]
        hits_old = _hits(before, order, _union(reach_old, starts_old), member)
        hits_new = _hits(after, order, _union(reach_new, starts_new), member)
        if hits_old or hits_new:
            attributed.update(hits_old, hits_new)
            reached[member] = _grouped(before, after, aspects, hits_old, hits_new)
    return reached, attributed


def _member_order(member: LocalPackage) -> tuple[str, bool, str]:
    return member.name, member.directory is None, member.directory or ""


def _reach_bits(graph: LockGraph, bit: dict[str, int]) -> dict[str, int]:
    """For each node, the bits of the changed nodes it reaches (itself included): one pass over
    the strongly connected components (Tarjan's, iterative), successors first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    reach: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    for root in graph.nodes:
        if root in index:
            continue
        work = [(root, iter(graph.nodes[root].deps))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            ident, deps = work[-1]
            for dep in deps:
                if dep not in index:
                    index[dep] = low[dep] = len(index)
                    stack.append(dep)
                    on_stack.add(dep)
                    work.append((dep, iter(graph.nodes[dep].deps)))
                    break
                if dep in on_stack:
                    low[ident] = min(low[ident], index[dep])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[ident])
                if low[ident] == index[ident]:
                    _close_component(graph, ident, stack, on_stack, reach, bit)
    return reach


def _close_component(
    graph: LockGraph,
    head: str,
    stack: list[str],
    on_stack: set[str],
    reach: dict[str, int],
    bit: dict[str, int],
) -> None:
    component = []
    while True:
        ident = stack.pop()
        on_stack.discard(ident)
        component.append(ident)
        if ident == head:
            break
    bits = 0
    for ident in component:
        bits |= bit.get(ident, 0)
        for dep in graph.nodes[ident].deps:
            bits |= reach.get(dep, 0)  # a dependency outside the component is done already
    for ident in component:
        reach[ident] = bits


def _union(reach: dict[str, int], starts: list[str]) -> int:
    bits = 0
    for start in starts:
        bits |= reach.get(start, 0)
    return bits


def _hits(graph: LockGraph, order: list[str], bits: int, member: LocalPackage) -> list[str]:
    """The changed nodes of ``graph`` among ``bits``, except other members' own entries."""
    hits = []
    while bits:
        lowest = bits & -bits
        ident = order[lowest.bit_length() - 1]
        bits ^= lowest
        node = graph.nodes.get(ident)
        if node is not None and node.local in (None, member):
            hits.append(ident)
    return hits


def _grouped(
    before: LockGraph,
    after: LockGraph,
    aspects: dict[str, tuple[str, ...]],
    olds: Iterable[str],
    news: Iterable[str],
) -> tuple[PackageChange, ...]:
    """One :class:`PackageChange` per name over the old-side and new-side changed nodes."""
    by_name: dict[str, tuple[list[Node], list[tuple[Node, tuple[str, ...]]]]] = defaultdict(
        lambda: ([], [])
    )
    for ident in olds:
        if ident in before.nodes:
            node = before.nodes[ident]
            by_name[node.name][0].append(node)
    for ident in news:
        if ident in after.nodes:
            node = after.nodes[ident]
            by_name[node.name][1].append((node, aspects[ident]))
    changes = []
    for name in sorted(by_name):
        gone, came = by_name[name]
        sources = {node.source for node in gone} | {node.source for node, _ in came}
        with_source = len(sources) > 1
        old = _joined(_label(node, (), with_source) for node in gone)
        new = _joined(_label(node, found, with_source) for node, found in came)
        changes.append(PackageChange(name, old, new))
    return tuple(changes)


def _label(node: Node, aspects: tuple[str, ...], with_source: bool) -> str:
    text = node.version or "(no version)"
    if with_source and node.source:
        text += f" ({node.source})"
    if aspects:
        text += f" ({', '.join(aspects)} changed)"
    return text


def _joined(labels: Iterable[str]) -> str | None:
    unique = sorted(set(labels))
    return ", ".join(unique) if unique else None


def _settings(path: str, old: dict[str, str], new: dict[str, str]) -> list[str]:
    reasons = []
    for key in sorted(old.keys() | new.keys()):
        if key not in new:
            reasons.append(f"{path}: {key} removed")
        elif key not in old:
            reasons.append(f"{path}: {key} added")
        elif old[key] != new[key]:
            reasons.append(f"{path}: {key} changed")
    return reasons


def _dangling(path: str, references: list[str]) -> list[str]:
    unique = sorted(set(references))
    reasons = [f"{path}: {text}" for text in unique[:_MAX_DANGLING]]
    if len(unique) > _MAX_DANGLING:
        reasons.append(f"{path}: {len(unique) - _MAX_DANGLING} more unresolved dependencies")
    return reasons
