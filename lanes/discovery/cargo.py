"""Cargo workspaces, read as Cargo reads them (no cargo needed).

* Members are ``[workspace].members`` (globs) minus ``exclude``, plus Cargo's implicit members:
  every path dependency of a member that lies inside the repository, recursively (absolute and
  symlinked paths are resolved; ``..`` is lexical, as in Cargo).
* Every dependency entry of ``[dependencies]``, ``[dev-dependencies]``, ``[build-dependencies]``
  and their ``[target.'cfg(...)'.*]`` variants that lands on a member is an edge carrying its
  table key, ``optional``, ``features`` and ``default-features`` (``workspace = true`` merged as
  Cargo merges it); ``[features]`` become ``Component.features``; ``[patch]`` and ``[replace]``
  entries with a ``path`` make registry dependencies internal (a patched directory no member
  lists becomes a component: Cargo builds it from the repository).
* ``Cargo.lock`` is a second source of edges: one the lock records between members and the
  manifests lack is added with ``dep="lockfile-edge:<name>"``. The other way round, a member the
  lock does not list and a member-to-member edge it does not record are ``LockGap`` records
  (a stale lock, reported by ``lanes check``): Cargo resolves the lock with every feature and
  every target, so each path dependency (normal, build, dev, optional, target-specific, renamed:
  the lock names the package) is in the depending package's ``dependencies``, without a source.
* A dependency that lands on no member (outside the repository, an absent or excluded directory)
  and a path package of the lock no member provides are ``unresolved-dependency`` errors.
* A package of another workspace in the repository (a cargo-fuzz ``fuzz/``, a nested workspace)
  that builds a component is a component, read against its own workspace root (found as Cargo
  finds it): that root's ``[workspace.dependencies]``, ``[patch]``/``[replace]`` and
  ``Cargo.lock``; every member of that workspace is then a component, and the nested root's
  manifest, lock and toolchain files are inputs (``Component.reads``) of its components only.
* With no top-level ``Cargo.toml``, every top-most tracked ``Cargo.toml`` is a root of its own
  (a workspace, or a standalone package), read as a nested root is; the repository top's
  toolchain and Cargo configuration files are inputs of every Cargo component.
* A root package owns its own sources only (``src/``, ``build.rs``, ``tests/`` ...); the root
  manifest, the lockfile and the toolchain files are global inputs.
"""

import json
import posixpath
import re
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from lanes.discovery._common import (
    Collector,
    Loaded,
    Members,
    dirname,
    expand_members,
    join_dir,
    line_of_key,
    line_of_text,
    load_toml,
    load_toml_cached,
    manifest_path,
    member_glob_problems,
    normdir,
    repo_name,
    str_list,
    table,
)
from lanes.discovery._source import Source, Tree, as_tree
from lanes.globs import literal_glob
from lanes.model import (
    LOCKFILE_EDGE,
    Component,
    Discovery,
    Edge,
    EdgeKind,
    LockGap,
    ManifestError,
)

MANIFEST = "Cargo.toml"
LOCKFILE = "Cargo.lock"
CARGO_CONFIGS = (".cargo/config.toml", ".cargo/config")
"""Cargo configuration in the repository: its ``[patch]`` and ``paths`` build registry
packages from repository directories."""
GLOBAL_INPUTS = (
    MANIFEST,
    LOCKFILE,
    "rust-toolchain",
    "rust-toolchain.toml",
    ".cargo/config.toml",
    ".cargo/config",
)
"""Files every build of the workspace reads (listed whether or not they exist, so adding one is
a change to every lane too)."""
TOP_INPUTS = ("rust-toolchain", "rust-toolchain.toml", *CARGO_CONFIGS)
"""With no root manifest, the repository top's files every Cargo build below reads (Cargo
and rustup look for them in the directory they run in and its ancestors): inputs of every
Cargo component."""
ROOT_SOURCES = ("src/**", "build.rs", "tests/**", "benches/**", "examples/**", MANIFEST)
"""What a root package owns besides the files its manifest names (targets, build script, readme)."""
UNRESOLVED = "unresolved-dependency"
_README_DEFAULTS = ("README.md", "README.txt", "README")
_TARGET_TABLES = ("lib", "bin", "test", "bench", "example")
_PACKAGE_NAME = r"""(?ms)^\[package\][^\[]*?^\s*name\s*=\s*["']([^"'\n]+)["']"""  # compiled on use
# Every ``path = "..."`` value (bare, quoted and dotted keys, inline tables): how ``locate`` finds
# implicit members without parsing TOML; ``parse`` checks that it missed nothing it reads. The
# pattern starts with a literal (fast to search for); the character before the key is checked apart.
_PATH_VALUE = r"""path["']?[ \t]*=[ \t]*("(?:[^"\\\n]|\\.)*"|'[^'\n]*')"""
_BEFORE_KEY = frozenset("{,. \t\n")
# A ``[workspace]`` or ``[workspace.*]`` header, or a top-level ``workspace = {...}`` /
# ``workspace.key = ...``: the manifest may be a workspace root (the parse decides).
_WORKSPACE_TABLE = (
    r"""(?m)^[ \t]*(?:\[[ \t]*["']?workspace["']?[ \t]*[\].]|workspace[ \t]*(?:=[ \t]*\{|\.))"""
)
_DEP_TABLES: tuple[tuple[str, EdgeKind], ...] = (
    ("dependencies", "normal"),
    ("dev-dependencies", "dev"),
    ("dev_dependencies", "dev"),
    ("build-dependencies", "build"),
    ("build_dependencies", "build"),
)


class _Workspace(NamedTuple):
    patterns: list[str]
    excludes: list[str]
    dependencies: dict[str, Any]


class _Dependency(NamedTuple):
    alias: str
    kind: EdgeKind
    spec: object
    table: str
    header: tuple[str, ...]


class _Resolved(NamedTuple):
    """A dependency built from a directory of the repository (``None``: outside it)."""

    dep: _Dependency
    directory: str | None
    path: str
    optional: bool
    features: tuple[str, ...]
    default_features: bool
    patched: bool  # built from a [patch]/[replace] entry, not a path dependency


class _Patch(NamedTuple):
    directory: str | None
    path: str


class _Root(NamedTuple):
    """A workspace root: the top one (``""``), a nested one (a manifest other than the top
    one declaring ``[workspace]``), or a package no workspace takes in (its own root, with
    ``declared`` false). Packages inherit from their root's ``[workspace.dependencies]`` and
    build with its ``[patch]``, ``[replace]`` and ``Cargo.lock``."""

    directory: str
    loaded: Loaded
    ws: _Workspace
    declared: bool

    def excludes(self, directory: str) -> bool:
        """Cargo's rule: ``directory`` is under an ``exclude`` entry and no ``members`` one."""
        return self._lists(directory, self.ws.excludes) and not self._lists(
            directory, self.ws.patterns
        )

    def _lists(self, directory: str, entries: list[str]) -> bool:
        for entry in entries:
            base = join_dir(self.directory, entry.strip().rstrip("/"))
            if base is not None and _within(directory, base):
                return True
        return False


def _within(directory: str, base: str) -> bool:
    return not base or directory == base or directory.startswith(f"{base}/")


def _workspace(doc: dict[str, Any], root: Loaded, out: Collector | None) -> _Workspace:
    section = table(doc, "workspace")
    if section is None:
        _report(out, root, "workspace", "[workspace] must be a table")
        return _Workspace([], [], {})
    lists: dict[str, list[str]] = {}
    for key in ("members", "exclude"):
        values = str_list(section.get(key, []))
        if values is None:
            _report(out, root, key, f"[workspace].{key} must be an array of strings")
        lists[key] = values or []
    deps = table(section, "dependencies")
    if deps is None:
        _report(out, root, "dependencies", "[workspace.dependencies] must be a table")
    return _Workspace(lists["members"], lists["exclude"], deps or {})


def _report(out: Collector | None, loaded: Loaded, key: str, message: str) -> None:
    if out is not None:
        out.error_at_key(loaded, key, message)


class _Paths:
    """Path dependencies to repository directories: joined lexically (as Cargo does), then
    resolved through symlinks; ``None`` for a directory outside the repository. Memoized, and
    links are resolved only where one is on the way (``locate`` runs on every invocation)."""

    def __init__(self, tree: Tree, members: Iterable[str] = ()) -> None:
        self.tree = tree
        # Member directories stand as the member globs found them (no symlink check).
        self.resolved: dict[str, str | None] = {directory: directory for directory in members}
        self.links: dict[str, bool] = {}

    def directory(self, base: str, path: str) -> str | None:
        if "\\" in path:
            path = path.replace("\\", "/")
        if path[:1] == "/" or path[1:3] == ":/":
            return self.tree.resolve(path)
        relative = join_dir(base, path)
        if relative is None:  # above the root, perhaps back into it (``../repo/x``)
            return self.tree.resolve(f"{base}/{path}" if base else path)
        found = self.resolved.get(relative, self)
        if found is self:
            found = self.resolved[relative] = self._follow(relative)
        return found  # type: ignore[return-value]

    def _follow(self, relative: str) -> str | None:
        parts = relative.split("/") if relative else []
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            link = self.links.get(prefix)
            if link is None:
                link = self.links[prefix] = self.tree.is_link(prefix)
            if link:
                return self.tree.resolve(relative)
        return relative


def _path_values(text: str) -> Iterator[str]:
    if "path" not in text:  # most members inherit their paths from [workspace.dependencies]
        return
    for match in re.finditer(_PATH_VALUE, text):
        start = match.start()
        if start and text[start - 1] in "\"'":
            start -= 1
        if start and text[start - 1] not in _BEFORE_KEY:
            continue  # another key ending in "path" (``xpath = ...``)
        literal = match.group(1)
        if literal.startswith("'") or "\\" not in literal:
            yield literal[1:-1]
            continue
        try:
            yield str(json.loads(literal))
        except ValueError:
            yield literal[1:-1]


def _read_quietly(tree: Tree, path: str) -> str:
    """A manifest's text for the scan of ``locate`` ("" when unreadable: ``parse`` reports it)."""
    try:
        raw = tree.read(path)
    except OSError:
        return ""
    return "" if raw is None else raw.decode("utf-8", "surrogateescape")


def locate(source: Source) -> list[str]:
    """The root manifest, Cargo.lock, every member's manifest (the expected path when absent)
    and the manifests of every directory a ``path`` value names, recursively; then the
    packages of other workspaces: every nested workspace root (a ``Cargo.toml`` declaring
    ``[workspace]``) with its members, lock and Cargo configuration, and every other manifest
    that names a path. Each manifest outside the top member globs comes with the Cargo.lock
    beside it (a nested or standalone root's own). With no root manifest, every top-most
    tracked ``Cargo.toml`` stands for a root of its own (see :func:`_top_most_roots`), with its
    Cargo configuration, and the repository top's."""
    tree = as_tree(source)
    if not tree.is_file(MANIFEST):
        tops = _top_most_roots(tree, tree.manifests().named(MANIFEST))
        return _Locator(tree, None, tops).run() if tops else []
    root = load_toml_cached(tree, MANIFEST)
    if root.data is None:
        return sorted({MANIFEST, LOCKFILE})
    return _Locator(tree, root).run()


def _top_most_roots(tree: Tree, manifests: Iterable[str]) -> list[str]:
    """The directories of the ``Cargo.toml`` files among ``manifests`` that exist and have
    none of the others in an ancestor directory: with no root manifest, each is a workspace
    root (or a standalone package) of its own, as Cargo finds it when run there."""
    directories = {
        dirname(path)
        for path in manifests
        if posixpath.basename(path) == MANIFEST and tree.is_file(path)
    }
    return sorted(d for d in directories if d and not any(_ancestors(d) & directories))


def _ancestors(directory: str) -> set[str]:
    parts = directory.split("/")
    return {"/".join(parts[:depth]) for depth in range(len(parts))}


class _Locator:
    def __init__(self, tree: Tree, root: Loaded | None, tops: Iterable[str] = ()) -> None:
        self.tree = tree
        self.found: set[str] = set()
        self.pending: deque[tuple[str, str | None]] = deque()
        self.listed: frozenset[str] = frozenset()  # the top member globs' directories
        self.roots: list[str] = []  # nested workspace roots met, not yet located
        if root is not None:
            self._top_root(root)
        else:
            _locate_configs(tree, "", self.found, self.pending)
            for directory in tops:
                self._top_most(directory)
        self.scanned = {directory for directory, _ in self.pending}
        self.paths = _Paths(tree, self.scanned)
        self.nested: set[str] = set()

    def _top_root(self, root: Loaded) -> None:
        assert root.data is not None
        self.found.update((MANIFEST, LOCKFILE))
        self.pending.append(("", root.text))
        _locate_configs(self.tree, "", self.found, self.pending)
        if "workspace" in root.data:
            ws = _workspace(root.data, root, None)
            members = expand_members(self.tree, ws.patterns, ws.excludes, MANIFEST)
            self.found.update(manifest_path(d, MANIFEST) for d in (*members.dirs, *members.missing))
            self.pending.extend((d, None) for d in members.dirs if d)
            self.listed = frozenset(members.dirs)

    def _top_most(self, directory: str) -> None:
        """A top-most manifest (no root manifest above it): a workspace root, whose members,
        lock and configuration ``_follow`` locates, or a standalone package, with its own."""
        manifest = manifest_path(directory, MANIFEST)
        text = _read_quietly(self.tree, manifest)
        self.found.add(manifest)
        self.pending.append((directory, text))
        if _declares_workspace(text):
            self.roots.append(directory)
        else:
            _locate_configs(self.tree, directory, self.found, self.pending)

    def run(self) -> list[str]:
        self._follow()
        # Packages of other workspaces (a cargo-fuzz ``fuzz/``, a nested workspace) that name
        # a path, and nested workspace roots: they may build this workspace's crates (see
        # ``_Parser._foreign``).
        for manifest in self.tree.manifests().named(MANIFEST):
            directory = dirname(manifest)
            if manifest in self.found or directory in self.scanned:
                continue
            text = _read_quietly(self.tree, manifest)
            declares = _declares_workspace(text)
            if declares or next(_path_values(text), None) is not None:
                self.found.add(manifest)
                self.scanned.add(directory)
                self.pending.append((directory, text))
            if declares:
                self.roots.append(directory)
        self._follow()
        for manifest in list(self.found):
            if self._outside_members(manifest):
                self.found.add(manifest_path(dirname(manifest), LOCKFILE))
        return sorted(self.found)

    def _outside_members(self, manifest: str) -> bool:
        """A package manifest outside the top member globs (its root may be elsewhere)."""
        directory = dirname(manifest)
        if not directory or directory in self.listed:
            return False
        # asked through the observing tree: a new one relocates
        return posixpath.basename(manifest) == MANIFEST and self.tree.is_file(manifest)

    def _follow(self) -> None:
        """Every path named by what is pending, then the nested roots met on the way."""
        while self.pending or self.roots:
            self._follow_paths()
            roots, self.roots = self.roots, []
            for directory in roots:
                if directory in self.nested:
                    continue
                self.nested.add(directory)
                ws = _nested_root(self.tree, manifest_path(directory, MANIFEST))
                if ws is not None:
                    _locate_nested(self.tree, directory, ws, self.found, self.scanned, self.pending)

    def _follow_paths(self) -> None:
        while self.pending:
            directory, text = self.pending.popleft()
            if text is None:
                text = self._read(directory)
            for value in _path_values(text):
                target = self.paths.directory(directory, value)
                if target is None:
                    continue
                self.found.add(manifest_path(target, MANIFEST))
                if target not in self.scanned:
                    self.scanned.add(target)
                    self.pending.append((target, None))

    def _read(self, directory: str) -> str:
        """A manifest's text for the path scan, noting a workspace it declares (other than
        the top one's members: Cargo refuses a member that is a root)."""
        text = _read_quietly(self.tree, manifest_path(directory, MANIFEST))
        if directory and directory not in self.listed and _declares_workspace(text):
            self.roots.append(directory)
        return text


def _declares_workspace(text: str) -> bool:
    """Whether ``text`` may declare a ``[workspace]`` (a fast check; the parse decides)."""
    return "workspace" in text and re.search(_WORKSPACE_TABLE, text) is not None


def _nested_root(tree: Tree, manifest: str) -> _Workspace | None:
    """The workspace a manifest other than the top one declares (None: it declares none)."""
    loaded = load_toml_cached(tree, manifest)
    if loaded.data is None or not isinstance(loaded.data.get("workspace"), dict):
        return None
    return _workspace(loaded.data, loaded, None)


def _locate_nested(
    tree: Tree,
    directory: str,
    ws: _Workspace,
    found: set[str],
    scanned: set[str],
    pending: deque[tuple[str, str | None]],
) -> None:
    """A nested workspace root's members (the expected manifest when absent), lock and Cargo
    configuration."""
    members = _nested_members(tree, directory, ws)
    found.update(manifest_path(d, MANIFEST) for d in (*members.dirs, *members.missing))
    for member in members.dirs:
        if member not in scanned:
            scanned.add(member)
            pending.append((member, None))
    found.add(manifest_path(directory, LOCKFILE))
    _locate_configs(tree, directory, found, pending)


def _locate_configs(
    tree: Tree, directory: str, found: set[str], pending: deque[tuple[str, str | None]]
) -> None:
    """The Cargo configuration of the workspace root ``directory``: its ``[patch]`` and
    ``paths`` overrides are relative to ``directory``."""
    for config in CARGO_CONFIGS:
        path = manifest_path(directory, config)
        if tree.is_file(path):  # asked through the observing tree: a new one relocates
            found.add(path)
            loaded = load_toml_cached(tree, path)
            pending.append((directory, loaded.text))
            data = loaded.data or {}
            for value in str_list(data.get("paths")) or []:
                pending.append((directory, f'path = "{value}"'))


def _nested_members(tree: Tree, directory: str, ws: _Workspace) -> Members:
    """A nested workspace's members: its globs and excludes are relative to its root."""
    patterns = [_under_root(directory, p) for p in ws.patterns]
    excludes = [_under_root(directory, p) for p in ws.excludes]
    return expand_members(tree, patterns, excludes, MANIFEST)


def _under_root(directory: str, pattern: str) -> str:
    """A member glob of the workspace root ``directory`` as one relative to the repository
    (leading ``..`` taken lexically; the directory's own glob characters escaped)."""
    cleaned = pattern.strip().replace("\\", "/")
    if not directory or cleaned.startswith("/") or cleaned[1:2] == ":":
        return cleaned
    base = directory.split("/")
    segments = cleaned.split("/")
    while segments and segments[0] in (".", ".."):
        if segments.pop(0) == "..":
            if not base:
                return "/".join(["..", *segments])  # outside the repository: reported
            base.pop()
    prefix = "/".join(base)
    if any(char in prefix for char in "*?["):
        prefix = re.sub(r"([*?\[])", r"[\1]", prefix)
    return "/".join(part for part in (prefix, *segments) if part)


def _dependency_tables(loaded: Loaded, out: Collector) -> Iterator[_Dependency]:
    assert loaded.data is not None
    scopes: list[tuple[str, dict[str, Any]]] = [("", loaded.data)]
    target = loaded.data.get("target", {})
    if isinstance(target, dict):
        scopes += [(cfg, v) for cfg, v in target.items() if isinstance(v, dict)]
        for cfg, value in target.items():
            if not isinstance(value, dict):
                out.error_at_key(loaded, cfg, f"[target.{cfg}] must be a table")
    else:
        out.error_at_key(loaded, "target", "[target] must be a table")
    for cfg, scope in scopes:
        for key, kind in _DEP_TABLES:
            header = (cfg, key) if cfg else (key,)
            name = f"target.{cfg}.{key}" if cfg else key
            deps = table(scope, key)
            if deps is None:
                out.error(loaded.path, line_of_key(loaded.text, key), f"[{name}] must be a table")
                continue
            for alias, spec in deps.items():
                yield _Dependency(alias, kind, spec, name, header)


def _guess_name(text: str) -> str | None:
    """The ``[package].name`` of a manifest TOML could not parse, read line by line."""
    match = re.search(_PACKAGE_NAME, text)
    return match.group(1) if match else None


def _features_of(spec: dict[str, Any]) -> list[str] | None:
    """A dependency's ``features`` (``[]`` when absent, ``None`` when not a list of strings)."""
    features = spec.get("features")
    return [] if features is None else str_list(features)


def _default_features(spec: dict[str, Any]) -> object:
    """``default-features`` (or the old ``default_features``) as written; ``None`` if absent."""
    return spec.get("default-features", spec.get("default_features"))


class _Parser:
    def __init__(self, tree: Tree, manifests: list[str]) -> None:
        self.tree = tree
        self.located = frozenset(manifests)
        self.out = Collector(manifests)
        self.paths = _Paths(tree)
        self.ws = _Workspace([], [], {})
        self.excluded: list[str] = []
        self.members: dict[str, Loaded] = {}
        self.deps: dict[str, list[_Resolved]] = {}
        self.names: dict[str, str] = {}
        self.edges: dict[tuple[str, str, str, str], Edge] = {}
        self.foreign: set[str] = set()
        self.roots: dict[str, _Root] = {}
        self.not_roots: set[str] = set()
        self.governing: dict[str, str] = {}  # package directory -> its root's directory
        self.patches_of: dict[str, dict[str, _Patch]] = {}
        self.config_patches: dict[str, _Patch] = {}  # the top .cargo configuration's
        self.root_problems: dict[str, list[ManifestError]] = {}
        self.opened: set[str] = set()  # other workspaces' roots whose members are components
        self.gaps: list[LockGap] = []
        self.tops: frozenset[str] = frozenset()  # with no root manifest: the top-most roots

    def run(self) -> Discovery:
        if MANIFEST in self.located:
            self.out.result.global_inputs = list(GLOBAL_INPUTS)
            self._load_root()
        else:
            self._load_top_most()
        self._close(deque(sorted(self.members)))
        self._foreign()
        for directory in sorted(self.members):
            self._component(directory, self.members[directory])
        for directory in sorted(self.members):
            self._edges(directory)
        if self.names:
            for root in ("", *sorted(self.opened)):
                self._lock_edges(root)
        result = self.out.finish()
        result.edges = sorted(self.edges.values())
        result.lock_gaps = sorted(set(self.gaps))
        return result

    # --- members ----------------------------------------------------------------------------

    def _load_root(self) -> None:
        found = self.out.root_toml(self.tree, MANIFEST)
        if found is None:
            return
        root, data = found
        if "package" in data or "workspace" not in data:
            self.members[""] = root
            self.governing[""] = ""
        if "workspace" in data:
            self._load_members(root, data)
        self.roots[""] = _Root("", root, self.ws, "workspace" in data)
        self.config_patches = self._config_patches("")
        self.patches_of[""] = {**self._patches(root, ""), **self.config_patches}

    def _load_top_most(self) -> None:
        """With no root manifest, each top-most manifest located is a root of its own (its
        members and its package are components) that builds with the repository top's Cargo
        configuration and its own. (Taken from what ``locate`` lists, so that the cache key
        covers it: a manifest ``locate`` reaches by a path that git does not track counts.)"""
        self.tops = frozenset(_top_most_roots(self.tree, self.located))
        self.paths = _Paths(self.tree, self.tops)  # as locate() resolves them
        self.config_patches = self._config_patches("")
        for directory in sorted(self.tops):
            if self._declared(directory) is not None:
                self._open(directory)
            else:
                manifest = manifest_path(directory, MANIFEST)
                self._admit_foreign(directory, load_toml(self.tree, manifest))

    def _config_patches(self, directory: str) -> dict[str, _Patch]:
        """``[patch]`` and ``paths`` of the Cargo configuration in the workspace root
        ``directory`` (read only when located: present)."""
        patches: dict[str, _Patch] = {}
        for config in CARGO_CONFIGS:
            path = manifest_path(directory, config)
            if path in self.located and self.tree.is_file(path):
                loaded = load_toml(self.tree, path)
                if loaded.error is not None:
                    self.out.result.errors.append(loaded.error)
                elif loaded.data is not None:
                    patches.update(self._patches(loaded, directory))
                    patches.update(self._path_overrides(loaded, directory))
        return patches

    def _path_overrides(self, config: Loaded, base: str) -> dict[str, _Patch]:
        """``paths = [...]`` of ``.cargo/config.toml``: each directory's package replaces the
        registry package of its name."""
        assert config.data is not None
        overrides: dict[str, _Patch] = {}
        for path in str_list(config.data.get("paths")) or []:
            directory = self.paths.directory(base, path)
            manifest = manifest_path(directory, MANIFEST) if directory is not None else None
            loaded = load_toml(self.tree, manifest) if manifest is not None else None
            package = loaded.data.get("package") if loaded and loaded.data else None
            name = package.get("name") if isinstance(package, dict) else None
            if not isinstance(name, str):
                message = f"paths: {path!r} holds no package lanes can read"
                self._error(config, line_of_text(config.text, path), message, UNRESOLVED)
                continue
            overrides[name] = _Patch(directory, path)
        return overrides

    def _load_members(self, root: Loaded, data: dict[str, Any]) -> None:
        self.ws = _workspace(data, root, self.out)
        excluded = (join_dir("", e.strip().rstrip("/")) for e in self.ws.excludes)
        self.excluded = [e for e in excluded if e]
        known = frozenset(dirname(m) for m in self.located if self.tree.is_file(m))
        members = expand_members(
            self.tree, self.ws.patterns, self.ws.excludes, MANIFEST, known=known
        )
        self.paths = _Paths(self.tree, members.dirs)  # as locate() resolves them
        for directory in members.dirs:
            if directory:
                self.members[directory] = load_toml(self.tree, manifest_path(directory, MANIFEST))
                self.governing[directory] = ""
        self._member_problems(root, members, self.ws)

    def _missing_member(self, root: Loaded, directory: str) -> None:
        line = line_of_key(root.text, "members")
        message = f"workspace member {directory or '.'!r} has no {MANIFEST}"
        absent = not self.tree.is_dir(directory)
        self._error(root, line, message, UNRESOLVED if absent else "manifest-error")

    def _close(self, queue: deque[str]) -> None:
        while queue:
            directory = queue.popleft()
            self.deps[directory] = self._dependencies(directory, self.members[directory])
            queue.extend(self._implicit_members(directory))

    def _foreign(self) -> None:
        """Packages outside this workspace (another workspace's: a cargo-fuzz ``fuzz/``
        excluded from the root, a nested workspace, a standalone package) that depend by path
        on a component are built from it, so they are components too, with their own path
        dependencies (not subject to the root's ``exclude``), read against their own
        workspace root; so are the other members of that workspace (see ``_open``)."""
        candidates: dict[str, Loaded] = {}
        for manifest in sorted(self.located):
            directory = dirname(manifest)
            if posixpath.basename(manifest) != MANIFEST or directory in self.members:
                continue
            if not self.tree.is_file(manifest):
                continue
            loaded = load_toml(self.tree, manifest)
            if isinstance(loaded.data, dict) and isinstance(loaded.data.get("package"), dict):
                candidates[directory] = loaded
        resolved: dict[str, list[_Resolved]] = {}
        added = True
        while added:
            added = False
            for directory, loaded in candidates.items():
                if directory in self.members:
                    continue
                if directory not in resolved:
                    with self._quietly():  # a package that stays out reports nothing
                        resolved[directory] = self._dependencies(directory, loaded)
                builds = any(found.directory in self.members for found in resolved[directory])
                if builds or self._unreadable_root(directory, loaded):
                    self._close(deque(self._admit_foreign(directory, loaded)))
                    added = True

    @contextmanager
    def _quietly(self) -> Iterator[Collector]:
        """Errors reported meanwhile go to a collector of their own, not to the result."""
        quiet = Collector([])
        out, self.out = self.out, quiet
        try:
            yield quiet
        finally:
            self.out = out

    def _unreadable_root(self, directory: str, loaded: Loaded) -> bool:
        """A package whose workspace root does not parse: what it builds is unknown, so it is
        admitted and the root's error reported (fail-safe)."""
        root = self.roots[self._root_of(directory, loaded)]
        return root.declared and root.loaded.data is None

    def _admit_foreign(self, directory: str, loaded: Loaded) -> list[str]:
        """``directory``, a package of another workspace, as a component; with it, the other
        members of its workspace (the directories to close over)."""
        self.members[directory] = loaded
        self.foreign.add(directory)
        return [directory, *self._open(self._root_of(directory, loaded))]

    def _implicit_members(self, source: str) -> Iterator[str]:
        """Directories of ``source``'s path dependencies Cargo makes members (inside the
        repository, not excluded, with a manifest), and of the ``[patch]`` entries it uses:
        Cargo builds those from the repository too, so they are components (not members)."""
        for found in self.deps[source]:
            directory = found.directory
            if directory is None or directory in self.members:
                continue
            manifest = manifest_path(directory, MANIFEST)
            foreign = source in self.foreign
            if not found.patched and not foreign and self._is_excluded(directory):
                continue
            if not self.tree.is_file(manifest):
                continue
            if manifest not in self.located:
                loaded = self.members[source]
                line = line_of_key(loaded.text, found.dep.alias, section=found.dep.header)
                message = (
                    f"[{found.dep.table}] {found.dep.alias}: lanes' manifest scan missed this "
                    'path (write it as path = "..." on one line)'
                )
                self._error(loaded, line, message)
            if foreign:
                yield from self._admit_foreign(directory, load_toml(self.tree, manifest))
                continue
            self.members[directory] = load_toml(self.tree, manifest)
            self.governing[directory] = ""
            yield directory

    # --- workspace roots ----------------------------------------------------------------------

    def _root_of(self, directory: str, loaded: Loaded) -> str:
        """The directory of the workspace root a package inherits from and builds with."""
        found = self.governing.get(directory)
        if found is None:
            found = self.governing[directory] = self._find_root(directory, loaded)
        return found

    def _find_root(self, directory: str, loaded: Loaded) -> str:
        """As Cargo finds it: the package's own ``[workspace]``, else the nearest root above
        that does not exclude it, else the package is a root of its own. (A
        ``package.workspace`` pointer is not followed: the root it names lists the package,
        and takes it in when that root's workspace is read.)"""
        if self._declared(directory) is not None:
            return directory
        parts = directory.split("/") if directory else []
        for depth in range(len(parts) - 1, -1, -1):
            ancestor = "/".join(parts[:depth])
            root = self._declared(ancestor)
            if root is not None and not root.excludes(directory):
                return ancestor
        self.roots[directory] = _Root(directory, loaded, _Workspace([], [], {}), False)
        return directory

    def _declared(self, directory: str) -> _Root | None:
        """The workspace root ``directory``'s manifest declares, if it declares one (a
        manifest that does not parse counts when its text declares one)."""
        root = self.roots.get(directory)
        if root is not None:
            return root if root.declared else None
        if not directory or directory in self.not_roots:
            return None
        manifest = manifest_path(directory, MANIFEST)
        loaded = None
        if manifest in self.located and self.tree.is_file(manifest):
            loaded = load_toml_cached(self.tree, manifest)
        if loaded is None or not _is_root(loaded):
            self.not_roots.add(directory)
            return None
        ws = _workspace(loaded.data, loaded, None) if loaded.data else _Workspace([], [], {})
        root = self.roots[directory] = _Root(directory, loaded, ws, True)
        return root

    def _open(self, directory: str) -> list[str]:
        """The members of the workspace rooted at ``directory``, made components (Cargo
        builds each with that root's lock and patches); the root's problems reported."""
        if not directory or directory in self.opened:
            return []
        self.opened.add(directory)
        root = self.roots[directory]
        self.out.result.errors.extend(self.root_problems.pop(directory, []))
        loaded = root.loaded
        if not root.declared:
            return []
        if loaded.data is None:
            if loaded.error is not None:
                self.out.result.errors.append(loaded.error)
            return []
        _workspace(loaded.data, loaded, self.out)
        members = _nested_members(self.tree, directory, root.ws)
        package = [directory] if isinstance(loaded.data.get("package"), dict) else []
        admitted = []
        for member in (*package, *members.dirs):
            if member not in self.members:
                manifest = manifest_path(member, MANIFEST)
                self.members[member] = (
                    loaded if member == directory else load_toml(self.tree, manifest)
                )
                self.foreign.add(member)
                self.governing[member] = directory
                admitted.append(member)
        self._member_problems(loaded, members, root.ws)
        return admitted

    def _member_problems(self, root: Loaded, members: Members, ws: _Workspace) -> None:
        for directory in members.missing:
            self._missing_member(root, directory)
        for pattern in members.outside:
            message = f"workspace member {pattern!r} is outside the repository"
            self._error(root, line_of_key(root.text, "members"), message, UNRESOLVED)
        for key, patterns in (("members", ws.patterns), ("exclude", ws.excludes)):
            for message in member_glob_problems(patterns):
                self._error(root, line_of_key(root.text, key), message, "manifest-error")

    def _patches_for(self, directory: str) -> dict[str, _Patch]:
        """What the workspace rooted at ``directory`` builds from the repository instead of a
        registry: its root's ``[patch]``/``[replace]``, the top Cargo configuration's and its
        own (Cargo reads configuration from the directory it runs in upwards; the nearer wins)."""
        found = self.patches_of.get(directory)
        if found is not None:
            return found
        root = self.roots[directory]
        with self._quietly() as quiet:
            found = self._patches(root.loaded, directory) if root.loaded.data else {}
            found.update(self.config_patches)
            if root.declared or directory in self.tops:
                found.update(self._config_patches(directory))
        if directory in self.opened:
            self.out.result.errors.extend(quiet.result.errors)
        else:  # reported if its workspace turns out to build a component
            self.root_problems.setdefault(directory, []).extend(quiet.result.errors)
        self.patches_of[directory] = found
        return found

    def _root_inputs(self, directory: str) -> tuple[str, ...]:
        """Globs of the files of another workspace's root that the package ``directory``
        builds with (manifest, lock, toolchain, Cargo configuration), and with no root
        manifest the repository top's toolchain and configuration, outside its own directory
        (inside it, the package owns them anyway)."""
        root = self.governing.get(directory, "")
        inputs = list(TOP_INPUTS) if self.tops else []  # else global inputs
        if root in self.opened:
            inputs += (manifest_path(root, name) for name in GLOBAL_INPUTS)
        return tuple(literal_glob(p) for p in inputs if not _within(p, directory))

    def _is_excluded(self, directory: str) -> bool:
        return any(_within(directory, excluded) for excluded in self.excluded)

    def _patches(self, root: Loaded, base: str) -> dict[str, _Patch]:
        """Package name -> where ``[patch.<source>]`` and ``[replace]`` entries build it from
        (paths relative to ``base``, the workspace root's directory)."""
        assert root.data is not None
        entries: list[tuple[str, object]] = []
        patch = root.data.get("patch")
        if isinstance(patch, dict):
            for source in patch.values():
                if isinstance(source, dict):
                    entries += list(source.items())
        replace = root.data.get("replace")
        if isinstance(replace, dict):
            for key, spec in replace.items():
                name = key.rpartition("#")[2].partition(":")[0].partition("@")[0]
                entries.append((name, spec))
        patches: dict[str, _Patch] = {}
        for alias, spec in entries:
            if isinstance(spec, dict) and isinstance(spec.get("path"), str):
                package = spec.get("package", alias)
                if isinstance(package, str):
                    directory = self.paths.directory(base, spec["path"])
                    patches[package] = _Patch(directory, spec["path"])
        return patches

    # --- components -------------------------------------------------------------------------

    def _component(self, directory: str, loaded: Loaded) -> None:
        if loaded.error is not None:
            self.out.result.errors.append(loaded.error)
        name = self._package_name(directory, loaded)
        component = Component(
            name,
            "cargo",
            directory=directory,
            manifest=loaded.path,
            paths=self._root_sources(loaded) if directory == "" else (),
            features=self._features(loaded),
            reads=(*self._reads(directory, loaded), *self._root_inputs(directory))
            if directory != ""
            else (),
        )
        if self.out.component(component, loaded):
            self.names[directory] = name

    def _package_name(self, directory: str, loaded: Loaded) -> str:
        if loaded.data is None:
            return self._fallback_name(directory, loaded)
        package = loaded.data.get("package")
        if not isinstance(package, dict):
            self.out.error_at_key(loaded, "package", "missing [package] table")
            return self._fallback_name(directory, loaded)
        name = package.get("name")
        if not isinstance(name, str) or not name:
            self.out.error_at_key(
                loaded, "name", "[package].name must be a non-empty string", parent="package"
            )
            return self._fallback_name(directory, loaded)
        return name

    def _fallback_name(self, directory: str, loaded: Loaded) -> str:
        """What is known of a broken manifest's name: a ``name =`` line, else the directory."""
        return _guess_name(loaded.text) or posixpath.basename(directory) or repo_name(self.tree)

    def _features(self, loaded: Loaded) -> tuple[tuple[str, tuple[str, ...]], ...]:
        if loaded.data is None:
            return ()
        features = table(loaded.data, "features")
        if features is None:
            self.out.error_at_key(loaded, "features", "[features] must be a table")
            return ()
        found: list[tuple[str, tuple[str, ...]]] = []
        for name, values in features.items():
            enabled = str_list(values)
            if enabled is None:
                line = line_of_key(loaded.text, name, section=("features",))
                message = f"[features] {name}: must be an array of strings"
                self.out.error(loaded.path, line, message)
                enabled = []
            found.append((name, tuple(enabled)))
        return tuple(found)

    def _root_sources(self, loaded: Loaded) -> tuple[str, ...]:
        """What a root package owns: its targets, build script, readme and manifest."""
        owned = list(ROOT_SOURCES)
        package, written = _written_paths(loaded)
        for path in written:
            if isinstance(path, str) and normdir(path) and not normdir(path).startswith(".."):
                parent = dirname(normdir(path))
                owned.append(f"{literal_glob(parent)}/**" if parent else literal_glob(path))
        readme = package.get("readme")
        if isinstance(readme, str) and normdir(readme) and not normdir(readme).startswith(".."):
            owned.append(literal_glob(normdir(readme)))
        elif readme is not False:
            owned += _README_DEFAULTS
        return tuple(dict.fromkeys(owned))

    def _reads(self, directory: str, loaded: Loaded) -> tuple[str, ...]:
        """What a member compiles from outside its directory: each target or build script its
        manifest places there, with the directory holding it (``mod`` files sit beside it)."""
        _, written = _written_paths(loaded)
        reads: list[str] = []
        for path in written:
            if not isinstance(path, str) or not path:
                continue
            path = path.replace("\\", "/")
            parent, _, name = path.rpartition("/")
            if not parent and not path.startswith("/"):
                continue  # beside the manifest
            found = self.paths.directory(directory, parent or "/")
            if found is None or found == directory or found.startswith(f"{directory}/"):
                continue  # outside the repository (no change can touch it), or its own
            reads.append(f"{literal_glob(found)}/**" if found else literal_glob(name))
        return tuple(dict.fromkeys(reads))

    # --- dependencies -----------------------------------------------------------------------

    def _dependencies(self, directory: str, loaded: Loaded) -> list[_Resolved]:
        if loaded.data is None:
            return []
        found = []
        for dep in _dependency_tables(loaded, self.out):
            resolved = self._resolve(directory, dep, loaded)
            if resolved is not None:
                found.append(resolved)
        return found

    def _resolve(self, directory: str, dep: _Dependency, loaded: Loaded) -> _Resolved | None:
        """Where ``dep`` is built from, or ``None`` for a registry or git dependency."""
        spec = {"version": dep.spec} if isinstance(dep.spec, str) else dep.spec
        if not isinstance(spec, dict):
            self._bad(loaded, dep, "must be a version string or a table")
            return None
        optional = spec.get("optional", False)
        if not isinstance(optional, bool):
            self._bad(loaded, dep, "optional must be a boolean")
            optional = False
        root = self.roots[self._root_of(directory, loaded)]
        inherited: dict[str, Any] | None = None
        if spec.get("workspace") is True:
            found = root.ws.dependencies.get(dep.alias)
            inherited = {"version": found} if isinstance(found, str) else found
            if not isinstance(inherited, dict):
                self._bad(loaded, dep, _not_inherited(root))
                return None
        where = spec if inherited is None else inherited
        package, path = where.get("package", dep.alias), where.get("path")
        if not isinstance(package, str) or not (path is None or isinstance(path, str)):
            self._bad(loaded, dep, "package and path must be strings")
            return None
        patches = self._patches_for(root.directory)
        if path is not None:
            base = directory if inherited is None else root.directory
            target, patched = self.paths.directory(base, path), False
        elif package in patches:
            patch = patches[package]
            target, path, patched = patch.directory, patch.path, True
        else:
            return None
        features, default = self._requested(dep, spec, inherited, loaded)
        return _Resolved(dep, target, path, optional, features, default, patched)

    def _requested(
        self,
        dep: _Dependency,
        spec: dict[str, Any],
        inherited: dict[str, Any] | None,
        loaded: Loaded,
    ) -> tuple[tuple[str, ...], bool]:
        """The features an internal dependency requests, and whether with the defaults."""
        features = _features_of(spec)
        if features is None:
            self._bad(loaded, dep, "features must be an array of strings")
            features = []
        default = _default_features(spec)
        if inherited is not None:
            features = [*(_features_of(inherited) or []), *features]
            # Cargo: a member may turn default features back on, not off.
            if _default_features(inherited) is not False:
                default = True
            elif default is None:
                default = False
        if not isinstance(default, bool):
            if default is not None:
                self._bad(loaded, dep, "default-features must be a boolean")
            default = True
        return tuple(dict.fromkeys(features)) if features else (), default

    def _edges(self, directory: str) -> None:
        source = self.names.get(directory)
        if source is None:
            return
        loaded = self.members[directory]
        for found in self.deps[directory]:
            target = self.names.get(found.directory) if found.directory is not None else None
            if target is None:
                self._unresolved(loaded, found)
                continue
            alias = found.dep.alias
            self._add(
                Edge(
                    source,
                    target,
                    found.dep.kind,
                    found.optional,
                    dep="" if alias == target else alias,
                    features=found.features,
                    default_features=found.default_features,
                )
            )

    def _add(self, edge: Edge) -> None:
        """One edge per (source, target, kind, key): entries in several tables are merged, a
        required one wins over an optional one, features add up."""
        key = (edge.source, edge.target, edge.kind, edge.dep)
        seen = self.edges.get(key)
        if seen is not None:
            edge = edge._replace(
                optional=seen.optional and edge.optional,
                features=tuple(dict.fromkeys((*seen.features, *edge.features))),
                default_features=seen.default_features or edge.default_features,
            )
        self.edges[key] = edge

    def _unresolved(self, loaded: Loaded, found: _Resolved) -> None:
        dep = found.dep
        foreign = dirname(loaded.path) in self.foreign
        if found.directory is None:
            why = "is outside the repository"
        elif not self.tree.is_file(manifest_path(found.directory, MANIFEST)):
            why = f"has no {MANIFEST} (directory absent or not checked out?)"
        elif self._is_excluded(found.directory) and not found.patched and not foreign:
            why = "is excluded from the workspace"
        else:
            why = "is not a workspace member"
        line = line_of_key(loaded.text, dep.alias, section=dep.header)
        message = f"[{dep.table}] {dep.alias}: path {found.path!r} {why}"
        self._error(loaded, line, message, UNRESOLVED)

    def _lock_edges(self, root: str) -> None:
        """Edges the Cargo.lock of the workspace rooted at ``root`` records between components
        that the manifests lack; lock path packages that no component provides."""
        path = manifest_path(root, LOCKFILE)
        if path not in self.located or not self.tree.is_file(path):
            return
        lock = load_toml(self.tree, path)
        if lock.data is None:
            if lock.error is not None:
                self.out.result.errors.append(lock.error)
            return
        packages = lock.data.get("package", [])
        if not isinstance(packages, list):
            self._error(lock, line_of_key(lock.text, "package"), "[[package]] must be an array")
            return
        entries = [p for p in packages if isinstance(p, dict) and isinstance(p.get("name"), str)]
        if len(entries) != len(packages):
            self._error(lock, 0, "a [[package]] entry has no name")
        local = {p["name"] for p in entries if "source" not in p}
        members = set(self.names.values())
        self._lock_gaps(root, path, entries, local, _unused_patches(lock.data))
        linked = {(e.source, e.target) for e in self.edges.values()}
        for package in entries:
            name = package["name"]
            if name in local and name not in members:
                line = line_of_text(lock.text, f'name = "{name}"')
                message = f"path package {name!r} is no workspace member of this checkout"
                self._error(lock, line, message, UNRESOLVED)
            if name not in local or name not in members:
                continue
            for target in self._lock_targets(package, local):
                if target in members and target != name and (name, target) not in linked:
                    self._add(Edge(name, target, "normal", dep=f"{LOCKFILE_EDGE}{target}"))

    def _lock_gaps(
        self,
        root: str,
        lockfile: str,
        entries: list[dict[str, Any]],
        local: set[str],
        unused: set[str],
    ) -> None:
        """Members of the workspace rooted at ``root`` its lock does not list, and their
        manifest edges it does not record (called before this lock's own edges are added)."""
        recorded: dict[str, set[str]] = {}
        for package in entries:
            if package["name"] in local and "source" not in package:
                recorded.setdefault(package["name"], set()).update(
                    self._lock_targets(package, local)
                )
        members = {
            name for directory, name in self.names.items() if self._member_of(directory, root)
        }
        self.gaps += [
            LockGap(lockfile, name)
            for directory, name in sorted(self.names.items())
            if name in members
            and name not in local
            and name not in unused
            and self.members[directory].data
        ]
        for edge in self.edges.values():
            if edge.source == edge.target or edge.source not in recorded or edge.target in unused:
                continue  # a self dev-dependency (tests with features), an absent member
            if edge.lockfile_only or (root and edge.source not in members):
                continue  # another lock's edge; a path package this lock resolves (no dev)
            if edge.target not in recorded[edge.source]:
                self.gaps.append(LockGap(lockfile, edge.source, edge.target, edge.kind))

    def _member_of(self, directory: str, root: str) -> bool:
        """Whether the package ``directory`` belongs to the workspace rooted at ``root`` (the
        top one: not another workspace's, whose lock records it)."""
        if not root:
            return directory not in self.foreign
        return self.governing.get(directory) == root

    def _lock_targets(self, package: dict[str, Any], local: set[str]) -> Iterator[str]:
        """The path packages among ``package``'s lock dependencies (``name [version] [(src)]``)."""
        dependencies = package.get("dependencies", [])
        for entry in dependencies if isinstance(dependencies, list) else []:
            if isinstance(entry, str) and "(" not in entry:
                name = entry.split(" ", 1)[0]
                if name in local:
                    yield name

    # --- errors -----------------------------------------------------------------------------

    def _bad(self, loaded: Loaded, dep: _Dependency, message: str) -> None:
        line = line_of_key(loaded.text, dep.alias, section=dep.header)
        self.out.error(loaded.path, line, f"[{dep.table}] {dep.alias}: {message}")

    def _error(
        self, loaded: Loaded, line: int, message: str, reason: str = "manifest-error"
    ) -> None:
        self.out.result.errors.append(ManifestError(loaded.path, line, message, reason))


def _not_inherited(root: _Root) -> str:
    """Why an entry with ``workspace = true`` inherits nothing from ``root``."""
    if not root.declared:
        return "has workspace = true but no workspace root takes the package in"
    where = f" of {root.loaded.path}" if root.directory else ""
    return f"has workspace = true but is not in [workspace.dependencies]{where}"


def _is_root(loaded: Loaded) -> bool:
    if loaded.data is None:
        return _declares_workspace(loaded.text)
    return isinstance(loaded.data.get("workspace"), dict)


def _unused_patches(lock: dict[str, Any]) -> set[str]:
    """``[[patch.unused]]`` names: a ``[patch]`` whose version matches no requirement; no
    refresh of the lock changes that, so edges to it are not reported as stale."""
    patch = lock.get("patch")
    unused = patch.get("unused") if isinstance(patch, dict) else None
    entries = unused if isinstance(unused, list) else []
    return {e["name"] for e in entries if isinstance(e, dict) and isinstance(e.get("name"), str)}


def parse(source: Source, manifests: list[str]) -> Discovery:
    return _Parser(as_tree(source), manifests).run()


def _written_paths(loaded: Loaded) -> tuple[dict[str, object], list[object]]:
    """A manifest's ``[package]`` table and the paths it writes for its build script and its
    targets (``[lib]``, ``[[bin]]`` ...), unchecked: what the caller does not read it skips."""
    data = loaded.data or {}
    package = data.get("package") if isinstance(data.get("package"), dict) else {}
    assert isinstance(package, dict)
    written: list[object] = [package.get("build")]
    for key in _TARGET_TABLES:
        targets = data.get(key)
        for target in targets if isinstance(targets, list) else [targets]:
            if isinstance(target, dict):
                written.append(target.get("path"))
    return package, written
