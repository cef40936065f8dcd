"""The base revision's graph for ``lanes detect --base`` and ``lanes explain --base``: loading
it (the edge around the pure ``lanes.graphdiff``).

The base is loaded only when the change touches a file discovery reads or the configuration:
otherwise both revisions have the same graph and the comparison costs nothing. Anything that
goes wrong loading it (a git error, a configuration that does not load there) is a fail-safe
reason code (``base-unloadable``), and so is a manifest error at the base (``base-`` + the
code), never fewer lanes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from lanes.discovery import DISCOVERY_FILES
from lanes.workspace import DEFAULT_GLOBAL, config_path, link_readers

if TYPE_CHECKING:
    from lanes.config import Config
    from lanes.discovery._source import Tree
    from lanes.graphdiff import Comparison, Mark, Side
    from lanes.index import Index
    from lanes.model import ChangeSet, Discovery
    from lanes.workspace import Workspace

BASE_UNLOADABLE = "base-unloadable"


def base_revisions(basis: Mapping[str, object]) -> list[str]:
    """The revisions the change was diffed from (the merge bases, or the base of a two-dot
    diff); none for lists of paths and local changes."""
    if basis.get("method") == "merge-base":
        bases = basis.get("merge_bases")
        return [str(rev) for rev in bases] if isinstance(bases, list) else []
    if basis.get("method") == "two-dot" and basis.get("base"):
        return [str(basis["base"])]
    return []


def config_in_repo(workspace: Workspace, explicit: str | None) -> tuple[str | None, str | None]:
    """The configuration as (repository-relative path, None), or (None, its path) when it lies
    outside the repository."""
    path = os.path.realpath(config_path(workspace.root, explicit))
    root = os.path.realpath(workspace.root)
    if path.startswith(root.rstrip(os.sep) + os.sep):
        return os.path.relpath(path, root).replace(os.sep, "/"), None
    return None, path


def touches_graph(paths: list[str], config_file: str | None) -> bool:
    """Whether ``paths`` include a file discovery reads or the configuration."""
    return any(p == config_file or p.rpartition("/")[2] in DISCOVERY_FILES for p in paths)


def _links(root: str, paths: list[str]) -> bool:
    """Whether a changed path is a symbolic link here: discovery follows links (a path
    dependency through one), so retargeting one changes the graph although no manifest did. (A
    deleted link is safe without this: the manifest naming it no longer resolves.)"""
    return any(os.path.islink(os.path.join(root, path)) for path in paths)


def comparison_for(
    workspace: Workspace, change: ChangeSet, config_arg: str | None
) -> Comparison | None:
    """The comparison with the base revision, or None when the graphs cannot differ (no base,
    or no file discovery reads changed)."""
    revisions = [] if change.uncertain else base_revisions(change.basis)
    config_file, explicit = config_in_repo(workspace, config_arg)
    if not revisions:
        return None
    if not touches_graph(change.paths, config_file) and not _links(workspace.root, change.paths):
        return None
    head = change.basis.get("head")
    found = _compare_with(workspace, (revisions[0], str(head)), change.paths, config_file, explicit)
    if len(revisions) > 1 and found.refined:
        # The paths are the union of several diffs; a refinement judged against one merge base
        # could hide what changed since another.
        kept = {path: "not refined: several merge bases" for path in found.refined}
        found = found._replace(refined=frozenset(), kept={**found.kept, **kept})
    return found


def _compare_with(
    workspace: Workspace,
    revisions: tuple[str, str],
    paths: list[str],
    config_file: str | None,
    explicit: str | None,
) -> Comparison:
    from pathlib import Path

    from lanes.audit.tree_at import workspace_at
    from lanes.config import ConfigError
    from lanes.git.runner import GitError
    from lanes.graphdiff import CARGO_ROOT, Comparison, cargo_root_diff, compare

    revision = revisions[0]
    try:
        outside = Path(explicit) if explicit is not None else None
        with workspace_at(workspace.repo, revision, config_file, outside) as at_base:
            base_found = at_base.discovered()
            components = at_base.config.components if at_base.configured else {}
            base_config = workspace.config._replace(components=components)
            base = _side(base_config, base_found, links_from=at_base.tree)
        head = _side(workspace.config, workspace.discovered(), workspace.index)
        refinable = _refinable(workspace, base, paths)
        contents, kept = _contents(workspace, revisions, list(refinable))
    except (GitError, ConfigError, OSError) as error:
        reason = f"{BASE_UNLOADABLE}: {revision[:12]}: {error}"
        return Comparison(base=workspace.index, failsafe=(reason,))
    roots = {
        path: cargo_root_diff(_toml(old), _toml(new))
        for path, (old, new) in contents.items()
        if path == CARGO_ROOT
    }
    lockfiles = {p: c for p, c in contents.items() if p != CARGO_ROOT}
    locks = _lockfiles(base, head, lockfiles, refinable)
    return compare(
        base,
        head,
        paths,
        roots=roots,
        refined_marks=locks.marks,
        kept={**kept, **locks.kept},
        failsafe=[*_base_problems(workspace.config, base_found), *locks.failsafe],
        graph_files=[p for p in paths if touches_graph([p], config_file)],
        scopes=locks.scopes,
    )


def _side(
    config: Config,
    found: Discovery,
    index: Index | None = None,
    *,
    links_from: Tree | None = None,
) -> Side:
    """One graph of the comparison; without ``index``, built from ``found`` with the readers
    of the tracked symbolic links of ``links_from`` (the revision's tree)."""
    from lanes.graph import build_index, merge_components
    from lanes.graphdiff import Side

    components, edges = merge_components(config, found)
    if index is None:
        index = build_index(config, found)
        if links_from is not None:
            index = link_readers(links_from, index)
    return Side(index, tuple(components), tuple(edges))


def _base_problems(config: Config, found: Discovery) -> list[str]:
    """The base graph's discovery problems, prefixed ``base-`` (the head's configuration, as
    the base graph is built with it)."""
    from lanes.graph import discovery_codes, duplicate_names

    codes = discovery_codes(config, found) + duplicate_names(found)
    return [f"base-{code}" for code in codes]


def _refinable(
    workspace: Workspace, base: Side, paths: list[str]
) -> dict[str, frozenset[str] | None]:
    """The changed paths a diff can refine (never one the configuration's ``global`` lists),
    each with its scope: those only a built-in default makes global (a discovered workspace
    input, or without a configuration ``lanes.workspace.DEFAULT_GLOBAL``) that are the
    workspace root Cargo.toml or a lockfile ``lanes.lockdiff`` reads, scope None (every lane);
    and the lock of a Cargo workspace below the top, scoped to the components building with it
    (``lanes.graphdiff.lock_scope``)."""
    from lanes.globs import GlobList
    from lanes.graphdiff import CARGO_ROOT, lock_scope
    from lanes.lockdiff import KINDS

    inputs = {*workspace.index.global_inputs, *base.derived.global_inputs}
    defaults = GlobList(() if workspace.configured else DEFAULT_GLOBAL)
    user = workspace.rules.global_paths if workspace.configured else GlobList(())
    found: dict[str, frozenset[str] | None] = {}
    for path in paths:
        if user.matches(path) or not (path == CARGO_ROOT or path.rpartition("/")[2] in KINDS):
            continue
        if path in inputs or defaults.matches(path):
            found[path] = None
        elif scope := lock_scope(path, workspace.index, base.derived):
            found[path] = scope
    return found


def _contents(
    workspace: Workspace, revisions: tuple[str, str], paths: list[str]
) -> tuple[dict[str, tuple[bytes | None, bytes | None]], dict[str, str]]:
    """(base bytes, head bytes) of each path (None: absent on that side), and the paths whose
    work-tree contents (what the head graph was read from) are not the head revision's: those
    are not refined, the head graph does not show their change."""
    from lanes.git.objects import blobs_at

    if not paths:
        return {}, {}
    base, head = (blobs_at(workspace.repo, revision, paths) for revision in revisions)
    contents: dict[str, tuple[bytes | None, bytes | None]] = {}
    kept: dict[str, str] = {}
    for path in paths:
        if _work_tree_bytes(workspace, path) != head[path]:
            kept[path] = f"not refined: the work tree's {path} is not the head revision's"
        else:
            contents[path] = (base[path], head[path])
    return contents, kept


class _Locks(NamedTuple):
    marks: dict[str, list[Mark]]
    kept: dict[str, str]
    failsafe: list[str]
    scopes: dict[str, frozenset[str]]


def _lockfiles(
    base: Side,
    head: Side,
    contents: Mapping[str, tuple[bytes | None, bytes | None]],
    scopes: Mapping[str, frozenset[str] | None],
) -> _Locks:
    """Each changed lockfile diffed: refined to its marks when every change reached a member
    (of its scope's workspace, for a lock below the top), else kept unrefined with the reason (a
    parse error, unattributed changes)."""
    from lanes.graphdiff import lockfile_marks
    from lanes.lockdiff import LockParseError, diff_lockfile

    found = _Locks({}, {}, [], {})
    for path, (old, new) in contents.items():
        if old is None or new is None:  # every resolution changes: none was pinned before
            found.kept[path] = f"not refined: {path} {'added' if old is None else 'removed'}"
            continue
        try:
            diff = diff_lockfile(path, old, new)
        except LockParseError as error:
            found.kept[path] = f"not refined: {error}"
            continue
        if diff.unattributed:
            more = len(diff.unattributed) - 1
            extra = f" (+{more} more)" if more > 0 else ""
            found.kept[path] = f"not refined: {diff.unattributed[0]}{extra}"
            continue
        scope = scopes.get(path)
        marked = lockfile_marks(path, diff, base, head, scope=scope)
        if marked.why_not:
            found.kept[path] = f"not refined: {marked.why_not}"
            continue
        found.marks[path] = marked.marks
        found.failsafe.extend(marked.failsafe)
        if scope is not None:
            found.scopes[path] = marked.replaced
    return found


def _work_tree_bytes(workspace: Workspace, path: str) -> bytes | None:
    try:
        with open(os.path.join(workspace.root, path), "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _toml(data: bytes | None) -> dict[str, Any] | None:
    from lanes.discovery._common import parse_toml
    from lanes.graphdiff import CARGO_ROOT

    if data is None:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    return parse_toml(CARGO_ROOT, text).data
