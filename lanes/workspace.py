"""The edge between the pure core and the repository: configuration, discovery, cache."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from lanes import cache, discovery
from lanes.config import Config, ConfigError, LaneSpec
from lanes.config_load import load_config
from lanes.discovery import _observed
from lanes.discovery._source import Tree, WorkTree
from lanes.engine import Rules
from lanes.index import Index
from lanes.model import Discovery, ManifestError, StrPath

if TYPE_CHECKING:
    from pathlib import Path

DEFAULT_GLOBAL = (
    "Cargo.toml",
    "Cargo.lock",
    "rust-toolchain",
    "rust-toolchain.toml",
    ".cargo/config.toml",
    "package.json",
    "package-lock.json",
    "pnpm-lock.yaml",
    "pnpm-workspace.yaml",
    "yarn.lock",
    "pyproject.toml",
    "uv.lock",
    "uv.toml",
    ".python-version",
    ".github/workflows/**",
)
DEFAULT_IGNORE = ("**/*.md", "docs/**", "LICENSE*", ".gitignore")


class Workspace:
    """A loaded repository. ``configured`` is False without a lanes.yml (every component is
    then its own lane); ``cache_hit`` tells whether the index came from the cache; ``tree`` is
    what discovery read (the work tree at ``repo`` unless given: a revision's tree)."""

    def __init__(
        self,
        repo: StrPath,
        config: Config,
        index: Index,
        rules: Rules,
        configured: bool,
        cache_hit: bool,
        tree: Tree | None = None,
        found: Discovery | None = None,
    ) -> None:
        self.root = os.fspath(repo)
        self.tree: Tree = tree if tree is not None else WorkTree(repo)
        self.config = config
        self.index = index
        self.rules = rules
        self.configured = configured
        self.cache_hit = cache_hit
        self.found = found  # what discovery found when the index was built (None: from cache)

    def discovered(self) -> Discovery:
        """What discovery finds in this workspace (parsed again when the index was cached)."""
        if self.found is None:
            self.found = discovery.parse_all(self.tree, located_in(self.tree, self.config))
        return self.found

    @property
    def repo(self) -> Path:
        """The repository root (``pathlib`` is imported only by commands that use this)."""
        from pathlib import Path

        return Path(self.root)


def config_path(repo: StrPath, explicit: StrPath | None) -> str:
    return os.fspath(explicit) if explicit is not None else os.path.join(repo, "lanes.yml")


def _display(path: str, repo: StrPath) -> str:
    """``path`` relative to the repository when it lies inside it, else as given (a symbolic
    link is named, not what it points to: that may be missing or outside)."""
    absolute = os.path.abspath(path)
    real = os.path.join(os.path.realpath(os.path.dirname(absolute)), os.path.basename(absolute))
    root = os.path.realpath(repo)
    if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
        return os.path.relpath(real, root)
    return path


def load_workspace(
    repo: StrPath, config_file: StrPath | None = None, *, use_cache: bool = True
) -> Workspace:
    """Load the configuration (or the no-config default) and the index, from cache when warm."""
    path = config_path(repo, config_file)
    # Whatever sits at lanes.yml (a dangling link, a directory, a FIFO ...) is a configuration
    # to load, so that a broken one is an error rather than quietly "no configuration".
    configured = config_file is not None or os.path.lexists(path)
    config = load_config(path, _display(path, repo)) if configured else Config(file="(none)")
    tree = WorkTree(repo)
    scope = f"{config.digest}\0{configured}"
    located, identity = _locate(tree, config, scope, use_cache)
    key = cache.input_key(identity, scope, located)
    index = cache.load(repo, key) if use_cache else None
    cache_hit = index is not None
    found = None
    if index is None:
        found = discovery.parse_all(tree, located)
        index = build(config, found, configured)
        if use_cache:
            cache.store(repo, key, index)
    index = link_readers(tree, index)
    return finish(tree, repo, config, index, configured, cache_hit, found)


class LinkTargets(NamedTuple):
    """What the tracked symbolic links of a tree point at inside the repository: (link, glob)
    pairs, the globs naming the target and, unless it is a file, everything under it, and each
    other link the resolution may pass through (see :func:`link_targets`); and whether the
    listing of links may have missed some (a bounded walk that stopped)."""

    targets: tuple[tuple[str, str], ...]
    truncated: bool = False


def link_targets(tree: Tree) -> LinkTargets:
    """Every tracked symbolic link of ``tree`` with what it points at inside the repository,
    through the tree interface alone: the work tree (``git ls-files -s``, links resolved on
    disk) and a git revision (blobs of mode 120000, followed in the revision's listing) answer
    alike. A link to the repository itself, outside it or into a loop points at nothing a diff
    reaches."""
    listed = tree.links()
    if not listed.paths:
        return LinkTargets((), listed.truncated)
    from lanes.globs import literal_glob

    resolved = {link: tree.resolve(link) for link in listed.paths}
    by_target: dict[str, list[str]] = {}
    for link, target in resolved.items():
        if target:
            by_target.setdefault(target, []).append(link)
    targets = []
    for link, target in resolved.items():
        if not target:
            continue
        # The target, or all under it: a dangling link's target (deleted since, or not yet
        # there) may be either.
        pattern = literal_glob(target)
        targets.append((link, pattern))
        if not tree.is_file(target):
            targets.append((link, f"{pattern}/**"))
        targets.extend((link, literal_glob(hop)) for hop in _hops(link, target, by_target))
    return LinkTargets(tuple(targets), listed.truncated)


def _hops(link: str, target: str, by_target: dict[str, list[str]]) -> list[str]:
    """The other tracked links ``link``'s resolution may pass through: those that resolve to
    ``target`` or to a directory above it. Retargeting one changes what ``link`` reads, so its
    owner reads them too (a link that merely points at the same place is included as well:
    more lanes, never fewer)."""
    hops: list[str] = []
    prefix = target
    while prefix:
        hops.extend(other for other in by_target.get(prefix, ()) if other != link)
        prefix = prefix.rpartition("/")[0]
    return hops


def link_readers(tree: Tree, index: Index) -> Index:
    """``index`` with each tracked symbolic link's owner reading what the link points at
    (:func:`link_targets`): a change there changes what the owner builds. Worked out from the
    tree each time an index is loaded (the work tree's index cache key does not cover links),
    at one ``readlink`` per link on disk, or one batch of link blobs at a revision; used for
    the work tree, every revision graph and the base graph of ``detect --base`` alike."""
    found = link_targets(tree)
    if found.truncated:  # git could not list them and the walk stopped: a link may be missed
        message = "the walk for symbolic links stopped at its bound"
        code = ManifestError(".", 0, message, reason="discovery-truncated").code()
        if code not in index.problems:
            index = index._replace(problems=[*index.problems, code])
    readers: dict[str, list[str]] = {}
    for link, glob in found.targets:
        # a component whose directory is the link (a workspace member reached through a
        # symlinked directory) builds from the target; else the owner of the link's path
        component = index.directories.get(link)
        if component is None:
            owner = index.owner(link)
            if owner is None:
                continue  # the link's own path is unowned: its change, not its target's, decides
            component = owner.component
        readers.setdefault(component, []).append(glob)
    if not readers:
        return index
    extra = tuple((component, tuple(globs)) for component, globs in sorted(readers.items()))
    return index._replace(readers=index.readers + extra)


def _locate(
    tree: WorkTree, config: Config, scope: str, use_cache: bool
) -> tuple[dict[str, list[str]], Callable[[str], str]]:
    """What discovery reads in the work tree, and each file's content identity: replayed from
    what the last run observed when all of that still holds, else located afresh (and
    recorded for the next run)."""
    if use_cache:
        record = cache.load_observed(tree.path, scope)
        replay = _observed.still_true(record, tree) if record is not None else None
        if replay is not None:
            if replay.refreshed:
                cache.store_observed(tree.path, scope, record)
            known = _observed.identities(record)
            return replay.located, lambda path: known.get(path) or tree.identity(path)
    observing = _observed.ObservingTree(tree.path)
    located = located_in(observing, config)
    identity = observing.identity
    if use_cache:
        for manifests in located.values():  # the key reads them: record them before storing
            for manifest in manifests:
                identity(manifest)
        cache.store_observed(tree.path, scope, observing.record(located))
    return located, identity


def located_in(tree: Tree, config: Config) -> dict[str, list[str]]:
    """What discovery reads in ``tree`` with ``config``, per manifest kind."""
    kinds = list(config.discover) if config.discover is not None else discovery.present_kinds(tree)
    return discovery.locate_all(tree, kinds)


def finish(
    tree: Tree,
    repo: StrPath,
    config: Config,
    index: Index,
    configured: bool,
    cache_hit: bool,
    found: Discovery | None = None,
) -> Workspace:
    """The workspace of ``index`` read from ``tree`` (without a configuration, each component
    is a lane)."""
    if not configured:
        config = _self_lanes(config, index)
    rules = Rules.from_config(config)
    return Workspace(repo, config, index, rules, configured, cache_hit, tree, found)


def build(config: Config, found: Discovery, configured: bool) -> Index:
    """The index of what discovery found (``discovery.parse_all`` of :func:`located_in`)."""
    from lanes.graph import build_index

    if not configured:
        config = _self_lanes(config, None, names=[c.name for c in found.components])
    return build_index(config, found)


def _self_lanes(config: Config, index: Index | None, names: list[str] | None = None) -> Config:
    """Without a lanes.yml, each discovered component is a lane rooted at itself."""
    if names is None:
        names = sorted(index.kinds) if index is not None else []
    lanes = {name: LaneSpec(name=name, roots=(name,)) for name in names}
    return Config(
        file=config.file,
        lanes=lanes,
        global_paths=DEFAULT_GLOBAL,
        ignore=DEFAULT_IGNORE,
        digest=config.digest,
    )


def no_lanes(workspace: Workspace) -> ConfigError | None:
    """Why nothing defines a lane, or None. Zero lanes select nothing for every change, so a
    gate such as ``lanes != '[]'`` would go green without running anything: commands that
    select refuse to run on it (``lanes detect`` exits 2, ``lanes check`` fails)."""
    config = workspace.config
    if config.lanes:
        return None
    if workspace.configured:
        line, column = config.mark("lanes") if "lanes" in config.marks else (1, 1)
        expected = "no lane is defined; expected at least one under 'lanes'"
        return ConfigError(config.file, line, column, "lanes", expected)
    expected = (
        "absent, and discovery found no Cargo, Python or npm component, so nothing defines a"
        " lane; expected a lanes.yml with lanes"
    )
    if workspace.index.problems:
        expected += f" (discovery problems: {', '.join(workspace.index.problems)})"
    return ConfigError(os.path.join(workspace.root, "lanes.yml"), 0, 0, "", expected)
