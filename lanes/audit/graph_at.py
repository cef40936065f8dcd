"""Each commit of a history audit judged with the dependency graph *at that commit*.

A commit's graph is the workspace :func:`lanes.audit.tree_at.workspace_at` loads from its tree.
Loading one per commit would cost a tree listing and a cache look-up (or a discovery) per commit,
so each commit's workspace is keyed by what discovery reads there (:class:`DiscoveryInputs`): the
mode and object id of every file discovery reads by name, of the configuration file and of every
symbolic link (discovery follows links, a path dependency through one), and the set of
directories (member globs such as ``crates/*`` match directories, a member directory without its
manifest is an error). The key follows the history stream itself: ``git log --raw`` gives
each commit's changed paths with both sides' object ids, and the history is streamed newest
first, each commit diffed against its first parent, so reverting a commit's records turns its
inputs into its first parent's. A commit that touched none of those files nor the set of
directories has its parent's key, and its workspace costs one dictionary look-up. Only the first
commit (and, with ``--all-commits``, a commit reached by no first-parent child already streamed)
costs one ``git ls-tree``.

Workspaces are memoised by key (a bounded LRU) and, with the cache, stored across runs in the
repository's cache directory (configuration and index as JSON), so a warm run builds none.

A commit whose graph cannot be loaded (git cannot read its tree, its configuration cannot be
loaded) is judged fail-safe with reason code ``graph-unavailable`` and the error in its record,
never with another graph. A bad manifest at a commit is not a load failure: discovery records it
and the selection fails safe with ``manifest-error`` as it would in ``lanes detect``.
"""

from __future__ import annotations

import hashlib
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, NamedTuple

from lanes.audit.configs import GRAPH_UNAVAILABLE, Judge
from lanes.audit.labels import short_sha
from lanes.audit.tree_at import workspace_at
from lanes.config import ConfigError
from lanes.discovery import DISCOVERY_FILES
from lanes.discovery._revision import LINK, REGULAR_MODES, list_tree
from lanes.git.parse import NO_MODE, RawEntry
from lanes.model import ChangeSet
from lanes.workspace import Workspace

MEMO_SIZE = 64
"""Workspaces kept in memory, by discovery inputs."""

CACHE_FORMAT = "graph-at-v2"
"""Part of every cached graph's key: v2 graphs hold the readers of tracked symbolic links
(v1 ones, built before revisions had them, must not be reused)."""

LoadAt = Callable[[Path, str, str | None, Path | None], AbstractContextManager[Workspace]]
""":func:`lanes.audit.tree_at.workspace_at`'s signature: the seam that builds a workspace."""


class DiscoveryInputs:
    """What discovery reads at one commit: ``files`` (path -> mode and object id of the files
    discovery reads by name, the configuration and every symbolic link) and, for each
    directory, its number of entries (files and directories right in it: a directory exists
    while it has one)."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self.files: dict[str, tuple[str, str]] = {}
        self.entries: dict[str, int] = {}
        self._digest: str | None = None

    @classmethod
    def listed(cls, repo: Path, rev: str, config_path: str | None) -> DiscoveryInputs:
        """The inputs at ``rev``, from one ``git ls-tree -r``."""
        inputs = cls(config_path)
        for path, item in list_tree(repo, rev).items():
            if item.kind != "tree":
                inputs._add(path, item.mode, item.oid)
        return inputs

    def digest(self) -> str:
        if self._digest is None:
            digest = hashlib.sha256(b"files\0")
            for path in sorted(self.files):
                mode, oid = self.files[path]
                digest.update(f"{path}\0{mode}\0{oid}\0".encode("utf-8", "surrogateescape"))
            digest.update(b"directories\0")
            for directory in sorted(self.entries):
                digest.update(directory.encode("utf-8", "surrogateescape") + b"\0")
            self._digest = digest.hexdigest()
        return self._digest

    def has(self, path: str) -> bool:
        """Whether ``path`` is a regular file here (a symbolic link is read as no file)."""
        entry = self.files.get(path)
        return entry is not None and entry[0] in REGULAR_MODES

    def revert(self, entries: Iterable[RawEntry]) -> None:
        """Turn a commit's inputs into its first parent's: undo its ``--raw`` records."""
        for entry in entries:
            if entry.new_mode != NO_MODE:
                self._remove(entry.path)
            if entry.old_mode != NO_MODE:
                self._add(entry.path, entry.old_mode, entry.old_oid)

    def _add(self, path: str, mode: str, oid: str) -> None:
        self._enter(path)
        if mode == LINK or (mode in REGULAR_MODES and read_by_discovery(path, self.config_path)):
            self.files[path] = (mode, oid)
            self._digest = None

    def _remove(self, path: str) -> None:
        self._leave(path)
        if self.files.pop(path, None) is not None:
            self._digest = None

    def _enter(self, path: str) -> None:
        """Count ``path`` in its directory, creating the directories it needs."""
        directory = path.rpartition("/")[0]
        while directory:
            count = self.entries.get(directory, 0)
            self.entries[directory] = count + 1
            if count:
                return
            self._digest = None  # a new directory: its parent gains an entry too
            directory = directory.rpartition("/")[0]

    def _leave(self, path: str) -> None:
        """Uncount ``path``, dropping the directories it leaves empty."""
        directory = path.rpartition("/")[0]
        while directory:
            count = self.entries.get(directory, 0) - 1
            if count > 0:
                self.entries[directory] = count
                return
            self.entries.pop(directory, None)
            self._digest = None
            directory = directory.rpartition("/")[0]


class _Loaded(NamedTuple):
    """A workspace built for one key, and where its configuration came from: ``commit``,
    ``fixed`` (the checked-out one, asked for), ``absent`` (no file at the commit: checked-out
    one), ``invalid`` (``detail`` says why: checked-out one), ``none`` (no configuration
    anywhere); or no workspace (``detail`` says why the graph could not be loaded)."""

    workspace: Workspace | None
    source: str
    detail: str = ""


class GraphAtCommit:
    """Each commit judged with the graph at that commit and, unless ``fixed_config``, the
    configuration at that commit (the checked-out ``fixed`` one where it is absent or invalid).

    Feed the history through :meth:`observe` (it reads each commit's raw records) and ask
    :meth:`at` for each commit as it streams. ``load`` builds a workspace (the seam of
    :func:`~lanes.audit.tree_at.workspace_at`); ``stats`` counts what each commit cost
    (``listed``: git ls-tree runs, ``built``, ``cached``: read from the cross-run cache,
    ``memo``: found in memory, ``unavailable``).
    """

    def __init__(
        self,
        fixed: Workspace,
        config_path: str | None,
        checked_out_config: Path | None,
        *,
        fixed_config: bool = False,
        use_cache: bool = True,
        load: LoadAt = workspace_at,
        memo_size: int = MEMO_SIZE,
    ) -> None:
        self._fixed = fixed
        self._path = None if fixed_config else config_path
        self._checked_out = checked_out_config
        self._fixed_config = fixed_config
        self._use_cache = use_cache
        self._load = load
        self._memo: OrderedDict[str, _Loaded] = OrderedDict()
        self._memo_size = memo_size
        self._records: dict[str, tuple[str | None, list[RawEntry]]] = {}
        self._pending: dict[str, DiscoveryInputs] = {}
        self._checked_out_digest = _digest_of(checked_out_config)
        self.stats: Counter[str] = Counter()

    def observe(
        self, stream: Iterable[tuple[str, ChangeSet, list[RawEntry]]]
    ) -> Iterator[tuple[str, ChangeSet]]:
        """The history as :func:`~lanes.audit.history.replay` takes it, remembering each
        commit's raw records and first parent until :meth:`at` asks for it."""
        for sha, change, entries in stream:
            parent = change.basis.get("base")
            self._records[sha] = (parent if isinstance(parent, str) else None, entries)
            yield sha, change

    def at(self, sha: str) -> Judge:
        parent, entries = self._records.pop(sha, (None, []))
        inputs = self._pending.pop(sha, None)
        try:
            if inputs is None:
                self.stats["listed"] += 1
                inputs = DiscoveryInputs.listed(self._fixed.repo, sha, self._path)
        except Exception as error:
            self.stats["unavailable"] += 1
            return self._unavailable(sha, None, f"git ls-tree: {error}")
        key = self._key(inputs)
        loaded = self._lookup(key, sha, inputs)
        if parent is not None and parent not in self._pending:
            inputs.revert(entries)
            self._pending[parent] = inputs
        return self._judge(sha, key, loaded)

    def _key(self, inputs: DiscoveryInputs) -> str:
        if self._fixed_config:
            source = f"fixed\0{self._checked_out_digest}"
        elif self._path is not None and inputs.has(self._path):
            source = "commit"
        else:
            source = f"absent\0{self._checked_out_digest}"
        return hashlib.sha256(f"{inputs.digest()}\0{source}".encode()).hexdigest()

    def _lookup(self, key: str, sha: str, inputs: DiscoveryInputs) -> _Loaded:
        loaded = self._memo.get(key)
        if loaded is not None:
            self._memo.move_to_end(key)
            self.stats["memo"] += 1
            return loaded
        loaded = self._cached(key) or self._build(key, sha, inputs)
        self._memo[key] = loaded
        if len(self._memo) > self._memo_size:
            self._memo.popitem(last=False)
        return loaded

    def _build(self, key: str, sha: str, inputs: DiscoveryInputs) -> _Loaded:
        at_commit = self._path is not None and inputs.has(self._path)
        try:
            if at_commit:
                try:
                    loaded = _Loaded(self._built(sha, self._path, None), "commit")
                except ConfigError as error:
                    detail = _config_error(error)
                    loaded = _Loaded(self._built(sha, None, self._checked_out), "invalid", detail)
            elif self._checked_out is not None:
                source = "fixed" if self._fixed_config else "absent"
                loaded = _Loaded(self._built(sha, None, self._checked_out), source)
            else:
                loaded = _Loaded(self._built(sha, None, None), "none")
        except Exception as error:
            self.stats["unavailable"] += 1
            return _Loaded(None, "", str(error) or type(error).__name__)
        self.stats["built"] += 1
        self._store(key, loaded)
        return loaded

    def _built(self, sha: str, config_path: str | None, explicit: Path | None) -> Workspace:
        with self._load(self._fixed.repo, sha, config_path, explicit) as workspace:
            workspace.root = self._fixed.root
            return workspace

    def _cached(self, key: str) -> _Loaded | None:
        if not self._use_cache:
            return None
        from lanes import cache

        data = cache.load_graph(self._fixed.repo, _cache_key(key))
        loaded = _from_json(data, self._fixed.root)
        if loaded is not None:
            self.stats["cached"] += 1
        return loaded

    def _store(self, key: str, loaded: _Loaded) -> None:
        if not self._use_cache or loaded.workspace is None or loaded.source == "invalid":
            return
        from lanes import cache

        workspace = loaded.workspace
        data = {
            "source": loaded.source,
            "configured": workspace.configured,
            "config": workspace.config.to_json(),
            "index": workspace.index.to_json(),
        }
        cache.store_graph(self._fixed.repo, _cache_key(key), data)

    def _judge(self, sha: str, key: str, loaded: _Loaded) -> Judge:
        if loaded.workspace is None:
            return self._unavailable(sha, key, loaded.detail)
        graph_id = key[:12]
        graph = f"at {short_sha(sha)}"
        checked_out = f"{self._fixed.config.file} (checked out)"
        if loaded.source == "commit":
            config = f"{self._path} at {short_sha(sha)}"
            return Judge(_named(loaded.workspace, self._path), config, None, graph, graph_id)
        note = {
            "absent": f"no {self._path} at {short_sha(sha)}",
            "invalid": f"{self._path} at {short_sha(sha)}{loaded.detail}",
        }.get(loaded.source)
        workspace = _named(loaded.workspace, self._fixed.config.file)
        return Judge(workspace, checked_out, note, graph, graph_id)

    def _unavailable(self, sha: str, key: str | None, detail: str) -> Judge:
        return Judge(
            self._fixed,
            f"{self._fixed.config.file} (checked out)",
            None,
            f"unavailable at {short_sha(sha)}",
            key[:12] if key else None,
            f"the graph at {short_sha(sha)} could not be loaded: {detail}",
            GRAPH_UNAVAILABLE,
        )


def _named(workspace: Workspace, display: str | None) -> Workspace:
    if display is not None and workspace.config.file != display:
        workspace.config = workspace.config._replace(file=display)
    return workspace


def _config_error(error: ConfigError) -> str:
    where = f":{error.line}:{error.column}" if error.line else ""
    key = f" {error.key}:" if error.key else ""
    return f"{where} is invalid:{key} {error.expected}"


def _digest_of(path: Path | None) -> str:
    if path is None:
        return "none"
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as error:
        return f"unreadable {error.errno}"


def _cache_key(key: str) -> str:
    from lanes import cache
    from lanes.index import FORMAT_VERSION

    text = f"{CACHE_FORMAT}\0{FORMAT_VERSION}\0{cache.CONFIG_FORMAT}\0{key}"
    return cache.content_key("graph", text)


def _from_json(data: Any, root: str) -> _Loaded | None:
    """A cached workspace, or None when absent or unreadable (then it is built again)."""
    if not isinstance(data, dict):
        return None
    from lanes.config import Config
    from lanes.engine import Rules
    from lanes.index import Index

    try:
        config = Config.from_json(data["config"])
        index = Index.from_json(data["index"])
        configured, source = bool(data["configured"]), str(data["source"])
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    workspace = Workspace(root, config, index, Rules.from_config(config), configured, True)
    return _Loaded(workspace, source)


def read_by_discovery(path: str, config_path: str | None) -> bool:
    """Whether discovery (or loading the configuration) reads ``path`` as a file. Symbolic
    links count wherever they are (discovery follows them: a path dependency through one)."""
    return path == config_path or path.rpartition("/")[2] in DISCOVERY_FILES
