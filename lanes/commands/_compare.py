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
from typing import TYPE_CHECKING, Any

from lanes.audit.tree_at import DISCOVERY_FILES, workspace_at
from lanes.config import ConfigError
from lanes.git.objects import blobs_at
from lanes.git.runner import GitError
from lanes.graphdiff import CARGO_ROOT, Comparison, RootDiff, Side, cargo_root_diff, compare
from lanes.workspace import config_path

if TYPE_CHECKING:
    from pathlib import Path

    from lanes.config import Config
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


def config_in_repo(workspace: Workspace, explicit: str | None) -> tuple[str | None, Path | None]:
    """The configuration as (repository-relative path, None), or (None, its path) when it lies
    outside the repository."""
    from pathlib import Path

    path = os.path.realpath(config_path(workspace.root, explicit))
    root = os.path.realpath(workspace.root)
    if path.startswith(root.rstrip(os.sep) + os.sep):
        return os.path.relpath(path, root).replace(os.sep, "/"), None
    return None, Path(path)


def touches_graph(paths: list[str], config_file: str | None) -> bool:
    """Whether ``paths`` include a file discovery reads or the configuration."""
    return any(p == config_file or p.rpartition("/")[2] in DISCOVERY_FILES for p in paths)


def comparison_for(
    workspace: Workspace, change: ChangeSet, config_arg: str | None
) -> Comparison | None:
    """The comparison with the base revision, or None when the graphs cannot differ (no base,
    or no file discovery reads changed)."""
    revisions = [] if change.uncertain else base_revisions(change.basis)
    config_file, explicit = config_in_repo(workspace, config_arg)
    if not revisions or not touches_graph(change.paths, config_file):
        return None
    found = _compare_with(workspace, revisions[0], change.paths, config_file, explicit)
    if len(revisions) > 1 and found.refined:
        # The paths are the union of several diffs; a refinement judged against one merge base
        # could hide what changed since another.
        kept = {path: "not refined: several merge bases" for path in found.refined}
        found = found._replace(refined=frozenset(), kept={**found.kept, **kept})
    return found


def _compare_with(
    workspace: Workspace,
    revision: str,
    paths: list[str],
    config_file: str | None,
    explicit: Path | None,
) -> Comparison:
    try:
        with workspace_at(workspace.repo, revision, config_file, explicit) as at_base:
            base_found = at_base.discovered()
            components = at_base.config.components if at_base.configured else {}
        roots = _roots(workspace, revision, paths)
    except (GitError, ConfigError, OSError) as error:
        reason = f"{BASE_UNLOADABLE}: {revision[:12]}: {error}"
        return Comparison(base=workspace.index, failsafe=(reason,))
    head = _side(workspace.config, workspace.discovered(), workspace.index)
    base = _side(workspace.config._replace(components=components), base_found)
    return compare(base, head, paths, roots=roots, failsafe=_base_problems(base_found))


def _side(config: Config, found: Discovery, index: Index | None = None) -> Side:
    from lanes.graph import build_index, merge_components

    components, edges = merge_components(config, found)
    if index is None:
        index = build_index(config, found)
    return Side(index, tuple(components), tuple(edges))


def _base_problems(found: Discovery) -> list[str]:
    from lanes.graph import duplicate_names

    return [f"base-{code}" for code in [e.code() for e in found.errors] + duplicate_names(found)]


def builtin_global(workspace: Workspace, path: str) -> bool:
    """Whether only a built-in default (not the configuration's ``global``) makes ``path``
    global: only those may be refined."""
    return not (workspace.configured and workspace.rules.global_paths.matches(path))


def _roots(workspace: Workspace, revision: str, paths: list[str]) -> dict[str, RootDiff]:
    """The changed workspace root manifest, diffed, when a built-in default makes it global."""
    if CARGO_ROOT not in paths or not builtin_global(workspace, CARGO_ROOT):
        return {}
    old = blobs_at(workspace.repo, revision, [CARGO_ROOT])[CARGO_ROOT]
    new = _work_tree_bytes(workspace, CARGO_ROOT)
    return {CARGO_ROOT: cargo_root_diff(_toml(old), _toml(new))}


def _work_tree_bytes(workspace: Workspace, path: str) -> bytes | None:
    try:
        with open(os.path.join(workspace.root, path), "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _toml(data: bytes | None) -> dict[str, Any] | None:
    from lanes.discovery._common import parse_toml

    if data is None:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    return parse_toml(CARGO_ROOT, text).data
