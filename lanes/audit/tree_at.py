"""A workspace loaded from a revision's tree (the coverage "at B" of a release audit, the base
graph of ``lanes detect --base``, the graph at each commit of a history audit).

Discovery reads the revision through a :class:`~lanes.discovery._revision.RevisionTree`: one
``git ls-tree`` of the whole tree and the blobs discovery reads in one ``git cat-file --batch``
(raw blobs: no hooks, no smudge or LFS filters, no ``export-ignore``), without a checkout or a
temporary directory. Paths git would never write (absolute, ``..``, ``.git``) are refused.

The index is cached by content: under the configuration (and the work tree's location), each
entry records every question discovery asked of the tree (a file's blob id, whether a directory
exists, a directory's entries, where a link leads) with the answer. A revision whose tree gives
the same answers (no manifest, member directory or link discovery looked at changed) reuses the
index after one ``git ls-tree``, without reading a blob or parsing a manifest.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lanes import cache, discovery
from lanes.config import Config
from lanes.discovery import DISCOVERY_FILES
from lanes.discovery._revision import REGULAR_MODES, RevisionTree, RevisionUnavailable
from lanes.index import FORMAT_VERSION, Index
from lanes.workspace import Workspace, build, finish, link_readers, located_in

__all__ = ["DISCOVERY_FILES", "RevisionUnavailable", "load_at", "workspace_at"]


@contextmanager
def workspace_at(
    repo: Path, rev: str, config_path: str | None, explicit: Path | None = None
) -> Iterator[Workspace]:
    """The workspace of ``rev``'s tree: its manifests and, when ``config_path`` (repository-
    relative) is a regular file there, its configuration; ``explicit`` (a configuration outside
    the repository) instead; else the no-config default. The index comes from the content-keyed
    cache when discovery would read the same there (see the module docstring); parsed
    configurations and manifests come from their own content-keyed caches.

    Raises :class:`~lanes.git.runner.GitError` (:class:`RevisionUnavailable` when the revision
    cannot be listed) and :class:`~lanes.config.ConfigError`: callers fail safe on both."""
    yield load_at(repo, rev, config_path, explicit)


def load_at(
    repo: Path,
    rev: str,
    config_path: str | None,
    explicit: Path | None = None,
    *,
    use_cache: bool = True,
) -> Workspace:
    """:func:`workspace_at` without the context manager."""
    tree = RevisionTree(repo, rev, extra=[config_path] if config_path else [])
    config, configured = _config(tree, config_path, explicit)
    family = cache.content_key(
        "revision-index", f"{FORMAT_VERSION}\0{config.digest}\0{configured}\0{tree.root}"
    )
    index = _cached(tree, family) if use_cache else None
    cache_hit = index is not None
    found = None
    if index is None:
        found = discovery.parse_all(tree, located_in(tree, config))
        index = build(config, found, configured)
        if use_cache:
            cache.store_revision(repo, family, tree.observed(), index)
    index = link_readers(tree, index)  # after storing: the entry's questions leave links out
    return finish(tree, repo, config, index, configured, cache_hit, found)


def _config(tree: RevisionTree, path: str | None, explicit: Path | None) -> tuple[Config, bool]:
    from lanes.config_load import load_config, load_config_bytes

    if path is not None and tree.mode(path) in REGULAR_MODES:
        content = tree.read(path)
        assert content is not None  # a regular blob of the listing
        return load_config_bytes(content, path), True
    if explicit is not None:
        return load_config(explicit, os.fspath(explicit)), True
    return Config(file="(none)"), False


def _cached(tree: RevisionTree, family: str) -> Index | None:
    """The cached index whose recorded questions ``tree`` answers the same way."""
    for entry in cache.revision_entries(tree.repo, family):
        observed = entry["observed"]
        if tree.answers(observed) != observed:
            continue
        try:
            return Index.from_json(entry["index"])
        except (ValueError, KeyError, TypeError, IndexError):
            continue
    return None
