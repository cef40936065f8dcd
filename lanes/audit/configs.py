"""Which configuration judges each commit of a history audit, with the checked-out graph.

By default each commit is judged with the configuration file *as it was at that commit*
(``git cat-file``, no checkout: one process finds the file's blob at every commit, one more reads
the distinct blobs), so a commit is audited under the rules that were live when it landed;
``--fixed-config`` judges every commit with the checked-out configuration instead. Where the
commit has no such file, or the file there is invalid, the checked-out configuration is used and
the record says so.

The classes here judge with the checked-out tree's dependency graph (``--fixed-graph``);
:mod:`lanes.audit.graph_at` gives each commit the graph at that commit, through the same
:class:`WorkspaceAt` seam.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from lanes.audit.labels import short_sha
from lanes.config import ConfigError
from lanes.git import objects
from lanes.workspace import Workspace, load_workspace

CHECKED_OUT_GRAPH = "checked out"
GRAPH_UNAVAILABLE = "graph-unavailable"
"""Reason code of a commit whose graph could not be loaded: it is judged fail-safe."""


@dataclass(frozen=True)
class Judge:
    """The workspace one commit is judged with, where its configuration and its graph came
    from, and the reason code that makes it fail-safe when its graph could not be loaded."""

    workspace: Workspace
    config: str  # "lanes.yml at 1a2b3c4d5e", "lanes.yml (checked out)"
    note: str | None = None  # why the checked-out configuration stands in
    graph: str = CHECKED_OUT_GRAPH  # "at 1a2b3c4d5e", or "unavailable at 1a2b3c4d5e"
    graph_id: str | None = None  # what discovery read there, hashed: equal ids, equal graphs
    graph_note: str | None = None  # why the graph at the commit could not be loaded
    failsafe: str | None = None  # GRAPH_UNAVAILABLE then


class WorkspaceAt(Protocol):
    """The workspace (configuration and graph) to judge a commit with; ``at`` is asked once per
    commit, in the order the history streams them."""

    def at(self, sha: str) -> Judge: ...


class FixedConfig:
    """Every commit judged with one workspace (``--fixed-config``, or no per-commit file)."""

    def __init__(self, workspace: Workspace, note: str | None = None) -> None:
        self._judge = Judge(workspace, f"{workspace.config.file} (checked out)", note)

    def at(self, sha: str) -> Judge:
        return self._judge


class ConfigAtCommit:
    """Each commit judged with the configuration file as it was at that commit."""

    def __init__(
        self,
        fixed: Workspace,
        commits: Sequence[str],
        config_path: str,
        *,
        use_cache: bool = True,
    ) -> None:
        self._fixed = fixed
        self._path = config_path
        self._use_cache = use_cache
        self._blobs = objects.blob_ids_at(fixed.repo, commits, config_path)
        self._contents = objects.read_blobs(fixed.repo, {b for b in self._blobs.values() if b})
        self._checked_out = _file_digest(fixed.repo / config_path) if fixed.configured else None
        self._loaded: dict[str, Workspace | str] = {}  # blob -> workspace, or why not

    def at(self, sha: str) -> Judge:
        blob = self._blobs.get(sha)
        if blob is None:
            return self._fallback(f"no {self._path} at {short_sha(sha)}")
        loaded = self._loaded.get(blob)
        if loaded is None:
            loaded = self._loaded[blob] = self._load(blob)
        display = f"{self._path} at {short_sha(sha)}"
        if isinstance(loaded, str):
            return self._fallback(f"{display}{loaded}")
        return Judge(loaded, display)

    def _fallback(self, note: str) -> Judge:
        return Judge(self._fixed, f"{self._fixed.config.file} (checked out)", note)

    def _load(self, blob: str) -> Workspace | str:
        content = self._contents[blob]
        if hashlib.sha256(content).hexdigest() == self._checked_out:
            return self._fixed
        with config_copy(content, use_cache=self._use_cache) as copy:
            try:
                workspace = load_workspace(self._fixed.root, copy, use_cache=self._use_cache)
            except ConfigError as error:
                where = f":{error.line}:{error.column}" if error.line else ""
                key = f" {error.key}:" if error.key else ""
                return f"{where} is invalid:{key} {error.expected}"
        workspace.config = workspace.config._replace(file=self._path)
        return workspace


@contextmanager
def config_copy(content: bytes, *, use_cache: bool = True) -> Iterator[Path]:
    """A file holding ``content`` to load a configuration from. With the cache, a stable
    content-addressed path under the user cache directory (so the parsed configuration, cached
    under its path and text, is found again by the next run), else a temporary file."""
    if use_cache:
        from lanes.cache import user_cache_dir

        name = hashlib.sha256(content).hexdigest()
        stable = Path(user_cache_dir(), "configs-at-revisions", name, "lanes.yml")
        try:
            if not stable.is_file() or stable.read_bytes() != content:
                stable.parent.mkdir(parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile(dir=stable.parent, delete=False) as handle:
                    handle.write(content)
                os.replace(handle.name, stable)  # atomic: a concurrent run reads all or nothing
        except OSError:
            pass
        else:
            yield stable
            return
    with tempfile.TemporaryDirectory(prefix="lanes-audit-") as directory:
        copy = Path(directory) / "lanes.yml"
        copy.write_bytes(content)
        yield copy


def _file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
