"""The base and head revisions' graphs compared: which components' builds a change altered.

Pure (no I/O): the caller (``lanes.commands._compare``) loads both revisions; :func:`compare`
returns a :class:`Comparison` that ``lanes.engine.select`` applies:

* every changed path is resolved against the base graph as well as the head graph (a deleted
  component's files select the lanes that covered it; reasons say ``graph: base``);
* components whose build changed (added, removed, an edge or a feature table that differs) are
  marked ``manifest-change`` with what changed, and select the lanes covering them in either
  graph;
* a built-in global input (a workspace root ``Cargo.toml``; a lockfile, see ``lanes.lockdiff``)
  is *refined*, its marks replacing "every lane", only when every difference in it is
  attributable to components; otherwise it stays global and the reason says why (``kept``);
* the ``Cargo.lock`` of a workspace below the top (:func:`lock_scope`) is refined the same way
  within that workspace: its marks replace the lanes of the workspace's members that own or
  read it (``scopes``), and whatever else owns or reads it keeps its lanes.
"""

import re
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from lanes.globs import literal_glob
from lanes.index import Index
from lanes.model import Component, Edge

if TYPE_CHECKING:
    from lanes.lockdiff import LockDiff, PackageChange

CARGO_ROOT = "Cargo.toml"
_PACKAGE_TABLES = ("dependencies", "dev-dependencies", "build-dependencies", "features", "target")
"""Root-package tables whose differences are the root component's edges and features."""
_WORKSPACE_KEYS = ("members", "exclude", "dependencies")


class Side(NamedTuple):
    """One revision's graph: the index (built with the head's lanes) and the merged components
    and edges it was built from."""

    derived: Index
    components: tuple[Component, ...]
    edges: tuple[Edge, ...]


class Mark(NamedTuple):
    """``component``'s build changed: ``detail`` says how, ``path`` is the changed file whose
    diff shows it; ``code`` is ``manifest-change`` or ``lockfile-change``."""

    component: str
    code: str
    path: str
    detail: str


class Comparison(NamedTuple):
    """What the engine needs from the base revision (see the module docstring). ``scopes``: for
    a refined path that is no global input (a nested workspace's lock), the components whose
    lanes as its owner or readers its marks replace."""

    base: Index
    marks: tuple[Mark, ...] = ()
    refined: frozenset[str] = frozenset()
    kept: Mapping[str, str] = {}
    failsafe: tuple[str, ...] = ()
    scopes: Mapping[str, frozenset[str]] = {}


class RootDiff(NamedTuple):
    """A workspace root manifest's differences: ``why_not`` (None: all attributable), the
    changed internal ``[workspace.dependencies]`` entries as (key, target directories), and the
    root-package tables that differ."""

    why_not: str | None
    dependencies: tuple[tuple[str, tuple[str, ...]], ...] = ()
    package_tables: tuple[str, ...] = ()


def _by_source(edges: Iterable[Edge]) -> dict[str, dict[tuple[str, str, str], set[Edge]]]:
    grouped: dict[str, dict[tuple[str, str, str], set[Edge]]] = {}
    for edge in edges:
        key = (edge.target, edge.kind, edge.dep)
        grouped.setdefault(edge.source, {}).setdefault(key, set()).add(edge)
    return grouped


def _edge_words(edge: Edge) -> str:
    words: list[str] = [edge.kind]
    if edge.optional:
        words.append("optional")
    if edge.lockfile_only:
        words.append("recorded only by the lockfile")
    elif edge.dep and edge.dep != edge.target:
        words.append(f"as {edge.dep}")
    if edge.features:
        words.append(f"features {', '.join(edge.features)}")
    if not edge.default_features:
        words.append("no default features")
    return ", ".join(words)


def _edge_changes(name: str, old: set[Edge], new: set[Edge], target: str) -> list[str]:
    if not new:
        return [f"{name} no longer depends on {target} ({_edge_words(e)})" for e in sorted(old)]
    if not old:
        return [f"{name} now depends on {target} ({_edge_words(e)})" for e in sorted(new)]
    before = "; ".join(_edge_words(e) for e in sorted(old))
    after = "; ".join(_edge_words(e) for e in sorted(new))
    return [f"{name}'s dependency on {target} changed ({before} -> {after})"]


def _feature_changes(name: str, old: Component, new: Component) -> list[str]:
    before, after = dict(old.features), dict(new.features)
    changes = []
    for feature in sorted(before.keys() | after.keys()):
        if feature not in after:
            changes.append(f"{name} no longer has feature {feature}")
        elif feature not in before:
            changes.append(f"{name} gained feature {feature} = [{', '.join(after[feature])}]")
        elif before[feature] != after[feature]:
            was, now = ", ".join(before[feature]), ", ".join(after[feature])
            changes.append(f"{name} feature {feature} changed ([{was}] -> [{now}])")
    return changes


def component_changes(base: Side, head: Side) -> dict[str, list[str]]:
    """Each component whose build differs between the graphs -> what differs."""
    old_components = {c.name: c for c in base.components}
    new_components = {c.name: c for c in head.components}
    old_edges, new_edges = _by_source(base.edges), _by_source(head.edges)
    changes: dict[str, list[str]] = {}
    for name in sorted(old_components.keys() | new_components.keys()):
        old, new = old_components.get(name), new_components.get(name)
        if old is None or new is None:
            changes[name] = [f"{name} is new" if old is None else f"{name} was removed"]
            continue
        found: list[str] = []
        if (old.directory, old.paths, old.exclude) != (new.directory, new.paths, new.exclude):
            found.append(f"{name} owns other files ({_owned(old)} -> {_owned(new)})")
        found += _feature_changes(name, old, new)
        before, after = old_edges.get(name, {}), new_edges.get(name, {})
        for key in sorted(before.keys() | after.keys()):
            if before.get(key, set()) != after.get(key, set()):
                found += _edge_changes(name, before.get(key, set()), after.get(key, set()), key[0])
        if found:
            changes[name] = found
    return changes


def _owned(component: Component) -> str:
    if component.paths:
        return ", ".join(component.paths)
    return f"{component.directory or '.'}/"


def cargo_root_diff(old: dict[str, Any] | None, new: dict[str, Any] | None) -> RootDiff:
    """Whether every difference between two versions of a workspace root ``Cargo.toml`` is
    attributable to components: workspace members, internal (``path``) entries of
    ``[workspace.dependencies]`` and, when the root is a package, its own dependency and
    feature tables. Profiles, lints, ``[patch]``, registry entries of
    ``[workspace.dependencies]`` (whoever inherits them is not in the graph) and anything else
    keep the file global."""
    if old is None or new is None:
        return RootDiff(
            f"{CARGO_ROOT} cannot be read or parsed at {'base' if old is None else 'head'}"
        )
    rest_old, rest_new = _without_attributable(old), _without_attributable(new)
    if rest_old != rest_new:
        return RootDiff(f"{_first_difference(rest_old, rest_new)} changed")
    dependencies = []
    old_deps, new_deps = _workspace_dependencies(old), _workspace_dependencies(new)
    for key in sorted(old_deps.keys() | new_deps.keys()):
        was, now = old_deps.get(key), new_deps.get(key)
        if was == now:
            continue
        targets = tuple(sorted({t for t in (_path_of(was), _path_of(now)) if t is not None}))
        if any(spec is not None and _path_of(spec) is None for spec in (was, now)):
            return RootDiff(f"[workspace.dependencies] {key} changed and is not a path dependency")
        dependencies.append((key, targets))
    tables = tuple(
        name for name in _PACKAGE_TABLES if "package" in new and old.get(name) != new.get(name)
    )
    return RootDiff(None, tuple(dependencies), tables)


def _without_attributable(document: dict[str, Any]) -> dict[str, Any]:
    rest = dict(document)
    workspace = rest.get("workspace")
    if isinstance(workspace, dict):
        rest["workspace"] = {k: v for k, v in workspace.items() if k not in _WORKSPACE_KEYS}
    if "package" in document:
        for name in _PACKAGE_TABLES:
            rest.pop(name, None)
    return rest


def _first_difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    for key in sorted(old.keys() | new.keys()):
        was, now = old.get(key), new.get(key)
        if was != now:
            if isinstance(was, dict) and isinstance(now, dict):
                return f"[{key}.{_first_difference(was, now).strip('[]')}]"
            return f"[{key}]"
    return "[?]"


def _workspace_dependencies(document: dict[str, Any]) -> dict[str, Any]:
    workspace = document.get("workspace")
    table = workspace.get("dependencies") if isinstance(workspace, dict) else None
    return table if isinstance(table, dict) else {}


def _path_of(spec: Any) -> str | None:
    if isinstance(spec, dict) and isinstance(spec.get("path"), str):
        from posixpath import normpath

        path = normpath(spec["path"].replace("\\", "/"))
        return "" if path == "." else path
    return None


def root_marks(path: str, diff: RootDiff, base: Side, head: Side) -> tuple[list[Mark], str]:
    """Marks for a refined workspace root: components depending on a changed internal
    ``[workspace.dependencies]`` entry (in either graph) and the root package; and why the root
    cannot be refined after all ("" when it can): an entry or the root package that maps to no
    component."""
    marks = []
    for key, directories in diff.dependencies:
        targets = {c for d in directories for c in _at_directory(d, base, head)}
        targets |= {c.name for side in (base, head) for c in side.components if c.name == key}
        if not targets:
            return [], f"[workspace.dependencies] {key} maps to no component"
        sources = sorted({e.source for s in (base, head) for e in s.edges if e.target in targets})
        for source in sources:
            detail = f"[workspace.dependencies] {key} changed ({source} depends on it)"
            marks.append(Mark(source, "manifest-change", path, detail))
    if diff.package_tables:
        roots = _at_directory("", base, head)
        if not roots:
            return [], "the root package maps to no component"
        tables = ", ".join(f"[{t}]" for t in diff.package_tables)
        marks += [Mark(root, "manifest-change", path, f"{root} {tables} changed") for root in roots]
    return marks, ""


def _at_directory(directory: str, *sides: Side) -> set[str]:
    """The components whose directory is ``directory`` in any of ``sides``."""
    return {c.name for side in sides for c in side.components if c.directory == directory}


def compare(
    base: Side,
    head: Side,
    paths: list[str],
    *,
    roots: Mapping[str, RootDiff] = {},
    refined_marks: Mapping[str, list[Mark]] = {},
    kept: Mapping[str, str] = {},
    failsafe: Iterable[str] = (),
    graph_files: Collection[str] = (),
    scopes: Mapping[str, frozenset[str]] = {},
) -> Comparison:
    """The comparison for ``paths``. ``roots``: the refinable workspace root manifests that
    changed, diffed (:func:`cargo_root_diff`); ``refined_marks`` / ``kept``: other refinable
    inputs already classified (lockfiles), with ``scopes`` (:attr:`Comparison.scopes`) for those
    below the top; ``failsafe``: reason codes (a base that could not be fully read);
    ``graph_files``: the changed paths discovery or the configuration reads."""
    refined = dict(refined_marks)
    still_global = dict(kept)
    for path, diff in roots.items():
        marks, why_not = root_marks(path, diff, base, head) if diff.why_not is None else ([], "")
        if diff.why_not is None and not why_not:
            refined[path] = marks
        else:
            still_global[path] = f"not refined: {diff.why_not or why_not}"
    marks = [mark for found in refined.values() for mark in found]
    changed = set(paths)
    # A component whose own manifest did not change changed through a workspace root, a
    # lockfile (edges it records) or the configuration (explicit components): name that file.
    sources = [*sorted(refined), *sorted(still_global), *(p for p in paths if p in graph_files)]
    fallback = next(iter(sources), paths[0] if paths else "")
    for component, changes in component_changes(base, head).items():
        path = _manifest_in(component, base, head, changed) or fallback
        marks += [Mark(component, "manifest-change", path, change) for change in changes]
    return Comparison(
        base=base.derived,
        marks=tuple(dict.fromkeys(marks)),
        refined=frozenset(refined),
        kept=still_global,
        failsafe=tuple(failsafe),
        scopes={path: scope for path, scope in scopes.items() if path in refined},
    )


def _manifest_in(component: str, base: Side, head: Side, changed: set[str]) -> str | None:
    for side in (head, base):
        manifest = side.derived.manifests.get(component)
        if manifest in changed:
            return manifest
    return None


_LOCK_ECOSYSTEM = {"Cargo.lock": "cargo", "uv.lock": "python"}  # the rest are npm's
_SHOWN_CHANGES = 5


class LockMarks(NamedTuple):
    """What a lockfile's diff selects (:func:`lockfile_marks`): ``marks``; ``failsafe`` reason
    codes (a member that maps to no component); ``why_not``, why the lockfile cannot be refined
    after all ("" when it can); and with a scope, ``replaced``: the components whose lanes as the
    file's owner or readers the marks replace."""

    marks: list[Mark]
    failsafe: list[str]
    why_not: str = ""
    replaced: frozenset[str] = frozenset()


def lock_scope(path: str, *indexes: Index) -> frozenset[str]:
    """The Cargo components that build with ``path``, a ``Cargo.lock`` below the top, as their
    workspace's lock: the packages that read it (rule ``reads <path>``, a nested or top-most
    root's input) and the root package beside it, which owns it. Empty: it is no such lock. (A
    lock beside a member of another workspace is one Cargo ignores: diffing it too only ever
    narrows the lanes of its owner, which is all it selected anyway.)"""
    directory, _, name = path.rpartition("/")
    if name != "Cargo.lock" or not directory:
        return frozenset()
    glob, manifest = literal_glob(path), f"{directory}/Cargo.toml"
    found: set[str] = set()
    for index in indexes:
        found.update(c for c, reads in index.readers if glob in reads)
        owner = index.owner(path)
        if owner is not None and index.manifests.get(owner.component) == manifest:
            found.add(owner.component)
    return frozenset(c for c in found if any(i.kinds.get(c) == "cargo" for i in indexes))


def lockfile_marks(
    path: str,
    diff: "LockDiff",
    base: Side,
    head: Side,
    *,
    scope: frozenset[str] | None = None,
) -> LockMarks:
    """Marks for a lockfile whose every change reached a member (``diff.unattributed`` empty):
    each member mapped to its component by directory, else by name; a member that maps to no
    component is a fail-safe reason code (``lockfile-unmapped``).

    With a ``scope`` (:func:`lock_scope`: the lock is a nested workspace's), only the scope's
    components the lock names are replaced, each marked when reached. A reached member of
    another workspace (a path dependency: it builds with its own lock in its own lanes) marks
    the replaced components that depend on it instead; when none does, the lock is not
    refined."""
    ecosystem = _LOCK_ECOSYSTEM.get(path.rpartition("/")[2], "npm")
    sides = (head, base)
    preferred = scope or frozenset()
    named = {_component_of(m.name, m.directory, ecosystem, sides, preferred) for m in diff.members}
    replaced = preferred & named
    found = LockMarks([], [], "", replaced)
    elsewhere: list[tuple[str, str, str]] = []  # (member, component, detail) of other workspaces
    for local, changes in sorted(diff.reached.items()):
        component = _component_of(local.name, local.directory, ecosystem, sides, preferred)
        if component is None:
            found.failsafe.append(f"lockfile-unmapped: {path}: {local.name}")
        elif scope is None or component in replaced:
            found.marks.append(Mark(component, "lockfile-change", path, _change_detail(changes)))
        else:
            elsewhere.append((local.name, component, _change_detail(changes)))
    through, why_not = _marks_through(path, elsewhere, replaced, sides)
    if why_not:
        return LockMarks([], [], why_not)
    marked = {mark.component for mark in found.marks}
    found.marks.extend(mark for mark in through if mark.component not in marked)
    return found


def _marks_through(
    path: str, reached: list[tuple[str, str, str]], scope: frozenset[str], sides: tuple[Side, ...]
) -> tuple[list[Mark], str]:
    """Marks for the ``scope`` components depending on each reached (member, component, what
    changed) of another workspace; or why one of them cannot be attributed (none depends on it)."""
    marks = []
    for name, component, detail in reached:
        builders = _dependents(component, sides) & scope
        if not builders:
            return [], f"{path}: {name} changed and no member of its workspace builds it"
        through = f"{detail} (through {component})"
        marks += [Mark(b, "lockfile-change", path, through) for b in sorted(builders)]
    return marks, ""


def _change_detail(changes: "tuple[PackageChange, ...]") -> str:
    shown = "; ".join(change.describe() for change in changes[:_SHOWN_CHANGES])
    more = len(changes) - _SHOWN_CHANGES
    return shown + (f" (+{more} more)" if more > 0 else "")


def _dependents(component: str, sides: tuple[Side, ...]) -> set[str]:
    """The components depending on ``component`` over any edges of ``sides``, transitively."""
    sources: dict[str, set[str]] = {}
    for side in sides:
        for edge in side.edges:
            sources.setdefault(edge.target, set()).add(edge.source)
    found: set[str] = set()
    todo = [component]
    while todo:
        for source in sources.get(todo.pop(), ()):
            if source not in found:
                found.add(source)
                todo.append(source)
    return found


def _component_of(
    name: str,
    directory: str | None,
    ecosystem: str,
    sides: tuple[Side, ...],
    preferred: frozenset[str] = frozenset(),
) -> str | None:
    """The component of a lockfile member: by directory, else by name, a ``preferred`` one
    (the lock's own workspace) first."""
    wanted = {_normal(name), _normal(f"{ecosystem}:{name}")}
    if directory is None:
        for name_in_scope in sorted(preferred):
            if _normal(name_in_scope) in wanted:
                return name_in_scope
    for side in sides:
        if directory is not None:
            for component in side.components:
                if component.directory == directory:
                    return component.name
        for component in side.components:
            if _normal(component.name) in wanted:
                return component.name
    return None


def _normal(name: str) -> str:
    """Names compared as the package managers compare them (PEP 503 for Python)."""
    return re.sub(r"[-_.]+", "-", name).lower()
