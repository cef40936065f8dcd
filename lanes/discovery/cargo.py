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
* A root package owns its own sources only (``src/``, ``build.rs``, ``tests/`` ...); the root
  manifest, the lockfile and the toolchain files are global inputs.
"""

import json
import posixpath
import re
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from lanes.discovery._common import (
    Collector,
    Loaded,
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
    and the manifests of every directory a ``path`` value names, recursively."""
    tree = as_tree(source)
    if not tree.is_file(MANIFEST):
        return []
    root = load_toml_cached(tree, MANIFEST)
    found = {MANIFEST, LOCKFILE}
    if root.data is None:
        return sorted(found)
    pending: deque[tuple[str, str | None]] = deque([("", root.text)])
    for config in CARGO_CONFIGS:  # [patch] and paths overrides: relative to the root
        if tree.is_file(config):  # asked through the observing tree: a new one relocates
            found.add(config)
            loaded = load_toml_cached(tree, config)
            pending.append(("", loaded.text))
            data = loaded.data or {}
            for path in str_list(data.get("paths")) or []:
                pending.append(("", f'path = "{path}"'))
    if "workspace" in root.data:
        ws = _workspace(root.data, root, None)
        members = expand_members(tree, ws.patterns, ws.excludes, MANIFEST)
        found.update(manifest_path(d, MANIFEST) for d in (*members.dirs, *members.missing))
        pending.extend((d, None) for d in members.dirs if d)
    scanned = {directory for directory, _ in pending}
    paths = _Paths(tree, scanned)
    _follow_paths(tree, paths, pending, scanned, found)
    # Packages of other workspaces (a cargo-fuzz ``fuzz/``, a nested workspace) that name a
    # path: they may build this workspace's crates (see ``_Parser._foreign``).
    for manifest in tree.manifests().named(MANIFEST):
        directory = dirname(manifest)
        if manifest in found or directory in scanned:
            continue
        text = _read_quietly(tree, manifest)
        if next(_path_values(text), None) is not None:
            found.add(manifest)
            scanned.add(directory)
            pending.append((directory, text))
    _follow_paths(tree, paths, pending, scanned, found)
    return sorted(found)


def _follow_paths(
    tree: Tree,
    paths: "_Paths",
    pending: deque[tuple[str, str | None]],
    scanned: set[str],
    found: set[str],
) -> None:
    while pending:
        directory, text = pending.popleft()
        if text is None:
            text = _read_quietly(tree, manifest_path(directory, MANIFEST))
        for value in _path_values(text):
            target = paths.directory(directory, value)
            if target is None:
                continue
            found.add(manifest_path(target, MANIFEST))
            if target not in scanned:
                scanned.add(target)
                pending.append((target, None))


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
        self.patches: dict[str, _Patch] = {}
        self.members: dict[str, Loaded] = {}
        self.deps: dict[str, list[_Resolved]] = {}
        self.names: dict[str, str] = {}
        self.edges: dict[tuple[str, str, str, str], Edge] = {}
        self.foreign: set[str] = set()

    def run(self) -> Discovery:
        if MANIFEST in self.located:
            self.out.result.global_inputs = list(GLOBAL_INPUTS)
            self._load_root()
        self._close(deque(sorted(self.members)))
        self._foreign()
        for directory in sorted(self.members):
            self._component(directory, self.members[directory])
        for directory in sorted(self.members):
            self._edges(directory)
        if self.names:
            self._lock_edges()
        result = self.out.finish()
        result.edges = sorted(self.edges.values())
        return result

    # --- members ----------------------------------------------------------------------------

    def _load_root(self) -> None:
        found = self.out.root_toml(self.tree, MANIFEST)
        if found is None:
            return
        root, data = found
        if "package" in data or "workspace" not in data:
            self.members[""] = root
        if "workspace" in data:
            self._load_members(root, data)
        self.patches = self._patches(root)
        for config in CARGO_CONFIGS:
            if config in self.located and self.tree.is_file(config):  # located when present
                loaded = load_toml(self.tree, config)
                if loaded.error is not None:
                    self.out.result.errors.append(loaded.error)
                elif loaded.data is not None:
                    self.patches.update(self._patches(loaded))
                    self.patches.update(self._path_overrides(loaded))

    def _path_overrides(self, config: Loaded) -> dict[str, _Patch]:
        """``paths = [...]`` of ``.cargo/config.toml``: each directory's package replaces the
        registry package of its name."""
        assert config.data is not None
        overrides: dict[str, _Patch] = {}
        for path in str_list(config.data.get("paths")) or []:
            directory = self.paths.directory("", path)
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
        for directory in members.missing:
            self._missing_member(root, directory)
        for pattern in members.outside:
            message = f"workspace member {pattern!r} is outside the repository"
            self._error(root, line_of_key(root.text, "members"), message, UNRESOLVED)
        for key, patterns in (("members", self.ws.patterns), ("exclude", self.ws.excludes)):
            for message in member_glob_problems(patterns):
                self._error(root, line_of_key(root.text, key), message, "manifest-error")

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
        dependencies (not subject to the root's ``exclude``)."""
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
                    quiet = Collector([])  # a package that stays out reports nothing
                    out, self.out = self.out, quiet
                    try:
                        resolved[directory] = self._dependencies(directory, loaded)
                    finally:
                        self.out = out
                if any(found.directory in self.members for found in resolved[directory]):
                    self.members[directory] = loaded
                    self.foreign.add(directory)
                    self._close(deque([directory]))
                    added = True

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
            self.members[directory] = load_toml(self.tree, manifest)
            if foreign:
                self.foreign.add(directory)
            yield directory

    def _is_excluded(self, directory: str) -> bool:
        return any(
            directory == excluded or directory.startswith(f"{excluded}/")
            for excluded in self.excluded
        )

    def _patches(self, root: Loaded) -> dict[str, _Patch]:
        """Package name -> where ``[patch.<source>]`` and ``[replace]`` entries build it from."""
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
                    directory = self.paths.directory("", spec["path"])
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
            reads=self._reads(directory, loaded) if directory != "" else (),
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
        inherited: dict[str, Any] | None = None
        if spec.get("workspace") is True:
            found = self.ws.dependencies.get(dep.alias)
            inherited = {"version": found} if isinstance(found, str) else found
            if not isinstance(inherited, dict):
                self._bad(
                    loaded, dep, "has workspace = true but is not in [workspace.dependencies]"
                )
                return None
        where = spec if inherited is None else inherited
        package, path = where.get("package", dep.alias), where.get("path")
        if not isinstance(package, str) or not (path is None or isinstance(path, str)):
            self._bad(loaded, dep, "package and path must be strings")
            return None
        if path is not None:
            target, patched = (
                self.paths.directory(directory if inherited is None else "", path),
                False,
            )
        elif package in self.patches:
            patch = self.patches[package]
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

    def _lock_edges(self) -> None:
        """Edges Cargo.lock records between members that the manifests lack; lock path packages
        that no member provides."""
        if not self.tree.is_file(LOCKFILE):
            return
        lock = load_toml(self.tree, LOCKFILE)
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
        self._lock_gaps(entries, local, _unused_patches(lock.data))
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

    def _lock_gaps(self, entries: list[dict[str, Any]], local: set[str], unused: set[str]) -> None:
        """Members the lock does not list, and manifest edges between members it does not
        record (called before lock-only edges are added: those come from the lock)."""
        recorded: dict[str, set[str]] = {}
        for package in entries:
            if package["name"] in local and "source" not in package:
                recorded.setdefault(package["name"], set()).update(
                    self._lock_targets(package, local)
                )
        gaps = [
            LockGap(LOCKFILE, name)
            for directory, name in sorted(self.names.items())
            if name not in local
            and name not in unused
            and self.members[directory].data
            and directory not in self.foreign  # another workspace's lock records it
        ]
        for edge in self.edges.values():
            if edge.source == edge.target or edge.source not in recorded or edge.target in unused:
                continue  # a self dev-dependency (tests with features), an absent member
            if edge.target not in recorded[edge.source]:
                gaps.append(LockGap(LOCKFILE, edge.source, edge.target, edge.kind))
        self.out.result.lock_gaps = sorted(set(gaps))

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
