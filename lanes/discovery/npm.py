"""npm, yarn and pnpm workspaces: the root ``package.json`` and its workspace packages.

Edges come from every dependency field (``dependencies``, ``devDependencies``,
``optionalDependencies``, ``peerDependencies``: all installed by default, none feature-gated) and,
as a second source, from the lockfiles (``lanes.discovery._jslock``): a link the lock records and
the manifests lack becomes an edge with ``dep="lockfile-edge:<name>"``. The other way round, a
workspace package a lockfile does not list (pnpm ``importers``, package-lock ``packages``, yarn
berry ``workspace:`` entries) and a manifest edge the lock does not record are ``LockGap``
records: a stale lock, reported by ``lanes check``. package-lock answers by name (the
package's entry names the dependency in any field, peerDependencies included); a pnpm importer
must record it in the field and with the ``specifier`` pnpm's ``--frozen-lockfile`` check
expects (``lanes.discovery._jslock.pnpm_expected``), peers as ``dependencies`` when
``autoInstallPeers`` is on; a yarn berry entry with the range, peer range and ``optional`` mark
``yarn install --immutable`` expects (``lanes.discovery._jslock.yarn_expected``).

Ownership: a member package owns its directory. A workspace root (``workspaces`` in the root
``package.json``, or a ``pnpm-workspace.yaml``) is configuration for every member: the root
manifest, ``pnpm-workspace.yaml`` and the lockfiles are global inputs, a private root owns no
file, and a public root owns only what its manifest names (see :func:`root_paths`). The root
package of a repository without workspaces owns the repository, as any package owns its
directory.
"""

from __future__ import annotations

import posixpath
import re
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import unquote

from lanes.discovery._common import (
    Collector,
    Loaded,
    Members,
    dirname,
    expand_members,
    join_dir,
    line_of_key,
    line_of_text,
    load_json,
    manifest_path,
    member_glob_problems,
    normdir,
    read_text,
    str_list,
)
from lanes.discovery._source import Source, Tree, as_tree
from lanes.model import (
    LOCKFILE_EDGE,
    Component,
    Discovery,
    Edge,
    EdgeKind,
    LockGap,
    ManifestError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from lanes.discovery._jslock import LockCompare

MANIFEST = "package.json"
PNPM = "pnpm-workspace.yaml"
_SKIP = frozenset({"node_modules", ".git"})
# The lockfiles read as a second source of edges (by lanes.discovery._jslock, imported only when
# parsing: a warm run locates them and hashes them, nothing more).
LOCKFILES = ("pnpm-lock.yaml", "package-lock.json", "npm-shrinkwrap.json", "yarn.lock")
# A workspace package's own lock (pnpm ``shared-workspace-lockfile=false``, or
# ``sharedWorkspaceLockfile: false`` in pnpm-workspace.yaml): read as a lock of that package
_OWN_LOCK = "/pnpm-lock.yaml"
_YARNRC = ".yarnrc.yml"
# Package-manager configuration at a workspace root: settings that decide what links where
# (``link-workspace-packages``, ``nodeLinker``, ``packageExtensions``), hooks that rewrite any
# manifest (``.pnpmfile.cjs`` ``readPackage``). Workspace inputs: a change selects every lane.
_CONFIG_FILES = (".npmrc", ".pnpmfile.cjs", ".pnpmfile.mjs", _YARNRC)
MAX_WORKSPACE_BYTES = 1 << 20
MAX_WILDCARDS = 4  # in a path the root package owns (see _simple)
# Every field is installed by default (npm >= 7 installs peers and optionals; devDependencies for
# the package's own build and tests): none is feature-gated, so no edge is ``optional``. Dev edges
# keep their kind: ``lanes.features`` follows them at every hop for npm components.
_DEP_FIELDS: tuple[tuple[str, EdgeKind], ...] = (
    ("dependencies", "normal"),
    ("devDependencies", "dev"),
    ("peerDependencies", "normal"),
    ("optionalDependencies", "normal"),
)
_PATH_PROTOCOLS = ("file:", "link:", "portal:")
# Manifest fields naming the files a published package ships (besides ``files``).
_TARGET_FIELDS = ("main", "module", "browser", "types", "typings", "bin", "man", "exports")
_NPM_NAME = re.compile(r"(?:@[\w.~-]+/)?[\w.~-]+")


class _Patterns(NamedTuple):
    include: list[str]
    exclude: list[str]


def _package_json_patterns(loaded: Loaded) -> list[str] | None:
    """``workspaces`` as an array or yarn's ``{"packages": [...]}``; ``None`` if malformed."""
    assert loaded.data is not None
    workspaces = loaded.data.get("workspaces", [])
    if isinstance(workspaces, dict):
        workspaces = workspaces.get("packages", [])
    return str_list(workspaces)


def _read_pnpm(tree: Tree) -> tuple[str | None, Any, ManifestError | None]:
    """``pnpm-workspace.yaml``'s text (None when unreadable) and document, parsed only within
    the size bound (the document is None with an error)."""
    text, error = read_text(tree, PNPM)
    if text is None:
        return None, None, error
    if len(text) > MAX_WORKSPACE_BYTES:
        return text, None, ManifestError(PNPM, 0, f"larger than {MAX_WORKSPACE_BYTES >> 10} KiB")
    data, error = _pnpm_document(text)
    return text, data, error


def _load_pnpm(tree: Tree) -> tuple[list[str] | None, ManifestError | None]:
    text, data, error = _read_pnpm(tree)
    if text is None or error is not None:
        return None, error
    data = {} if data is None else data
    packages = str_list(data.get("packages", [])) if isinstance(data, dict) else None
    if packages is None:
        line = line_of_key(text, "packages") or 1
        return None, ManifestError(PNPM, line, "packages must be a list of strings")
    return packages, None


def _pnpm_document(text: str) -> tuple[Any, ManifestError | None]:
    """``pnpm-workspace.yaml`` parsed safely, cached by content hash: ``locate`` reads it on
    every run, and a warm run should not import PyYAML (about 20 ms)."""
    from lanes import cache

    key = cache.content_key("pnpm-workspace", text)
    cached = cache.load_document(key)
    if isinstance(cached, dict) and "document" in cached:
        return cached["document"], None
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 0
        return None, ManifestError(PNPM, line, f"invalid YAML: {exc}".splitlines()[0])
    except RecursionError:
        return None, ManifestError(PNPM, 0, "invalid YAML: nested too deeply")
    cache.store_document(key, {"document": data})
    return data, None


def _split(patterns: list[str]) -> _Patterns:
    include = [p for p in patterns if not p.startswith("!")]
    exclude = [p[1:] for p in patterns if p.startswith("!")]
    return _Patterns(include, exclude)


def _workspace_patterns(tree: Tree, root: Loaded | None, errors: list[ManifestError]) -> _Patterns:
    patterns: list[str] = []
    if root is not None and root.data is not None:
        found = _package_json_patterns(root)
        if found is None:
            errors.append(
                ManifestError(MANIFEST, line_of_key(root.text, "workspaces"), "invalid workspaces")
            )
        problems = member_glob_problems(found or [])
        if problems:
            line = line_of_key(root.text, "workspaces")
            errors.extend(ManifestError(MANIFEST, line, problem) for problem in problems)
        patterns += found or []
    if tree.is_file(PNPM):
        pnpm, error = _load_pnpm(tree)
        errors.extend([error] if error else [])
        problems = member_glob_problems(pnpm or [])
        if problems:  # the text again, only for the line of the key
            text, _ = read_text(tree, PNPM)
            line = line_of_key(text or "", "packages") or 1
            errors.extend(ManifestError(PNPM, line, problem) for problem in problems)
        patterns += pnpm or []
    return _split(patterns)


def _root(tree: Tree) -> Loaded | None:
    return load_json(tree, MANIFEST) if tree.is_file(MANIFEST) else None


def _members(tree: Tree, patterns: _Patterns) -> Members:
    return expand_members(tree, patterns.include, patterns.exclude, MANIFEST, skip_segments=_SKIP)


def locate(source: Source) -> list[str]:
    """The root manifest, ``pnpm-workspace.yaml``, the lockfiles present, and the expected
    ``package.json`` of every directory a member pattern matches (present or not: one appearing
    there makes a new member, so it must change the cache key)."""
    tree = as_tree(source)
    root = _root(tree)
    has_pnpm = tree.is_file(PNPM)
    if root is None and not has_pnpm:
        return []
    members = _members(tree, _workspace_patterns(tree, root, []))
    located = {manifest_path(d, MANIFEST) for d in (*members.dirs, *members.missing)}
    located.update(name for name, present in ((MANIFEST, root), (PNPM, has_pnpm)) if present)
    located.update(lock for lock in LOCKFILES if tree.is_file(lock))
    own_locks = (manifest_path(d, _OWN_LOCK[1:]) for d in members.dirs if d)
    located.update(lock for lock in own_locks if tree.is_file(lock))
    located.update(config for config in _CONFIG_FILES if tree.is_file(config))
    return sorted(located)


def _literal_members(patterns: _Patterns) -> set[str]:
    """Members named without a glob: npm reports them when their ``package.json`` is absent."""
    literal = (p.strip().rstrip("/") for p in patterns.include if not set(p) & set("*?[{"))
    return {normdir(p) for p in literal}


class _Parser:
    def __init__(self, tree: Tree, manifests: list[str]) -> None:
        self.tree = tree
        self.manifests = manifests
        self.out = Collector(manifests)
        self.packages: dict[str, Loaded] = {}
        self.names: dict[str, str] = {}
        self.by_name: dict[str, str] = {}
        self.patterns = _Patterns([], [])
        self.workspace_root = False
        self.root: Loaded | None = None
        # (source directory, target component, kind, dependency name) of every manifest edge:
        # what a fresh lockfile records
        self.declared: list[tuple[str, str, EdgeKind, str]] = []
        # Patch files (yarn ``patch:``, pnpm ``patchedDependencies``) by the component whose
        # install they change; ``None``: every component's (a third-party package patched
        # wherever the install tree holds it)
        self.patches: dict[str | None, list[str]] = {}
        # the workspace packages each package depends on: (target component, kind) by directory
        self.targets: dict[str, list[tuple[str, EdgeKind]]] = {}

    def run(self) -> Discovery:
        self._load_root()
        literal = _literal_members(self.patterns)
        for path in self.manifests:
            if path in (MANIFEST, PNPM) or path in LOCKFILES or path in _CONFIG_FILES:
                continue
            if path.endswith(_OWN_LOCK):
                continue
            directory = dirname(path)
            if self.tree.is_file(path):
                self.packages[directory] = load_json(self.tree, path)
            elif directory in literal:
                message = f"workspace member {directory!r} has no {MANIFEST}"
                self._unresolved(*self._listed_at(directory), message)
        for directory in sorted(self.packages):
            self._component(directory, self.packages[directory])
        for directory in sorted(self.packages):
            self._edges(directory, self.packages[directory])
        self._enclosing_edges()
        self._override_edges()
        self._extension_edges()
        self._configured_patches()
        result = self.out.finish()
        result.components = [self._with_patches(c) for c in result.components]
        self._lockfile_edges(result)
        configs = _CONFIG_FILES if self.workspace_root else ()
        result.global_inputs = [
            path
            for path in self.manifests
            if path in (MANIFEST, PNPM) or path in LOCKFILES or path in configs
        ]
        return result

    def _listed_at(self, directory: str) -> tuple[str, int]:
        """The file and line listing member ``directory`` (package.json or pnpm-workspace)."""
        line = line_of_text(self.root.text, directory) if self.root is not None else 0
        if line or PNPM not in self.manifests:
            return MANIFEST, line
        text, _error = read_text(self.tree, PNPM)
        return PNPM, line_of_text(text or "", directory)

    def _unresolved(self, path: str, line: int, message: str) -> None:
        self.out.result.errors.append(ManifestError(path, line, message, "unresolved-dependency"))

    def _load_root(self) -> None:
        root = self.root = _root(self.tree) if MANIFEST in self.manifests else None
        if root is not None and root.error is not None:
            self.out.result.errors.append(root.error)
        if PNPM in self.manifests or root is not None:
            self.patterns = _workspace_patterns(self.tree, root, self.out.result.errors)
        has_workspaces = root is not None and root.data is not None and "workspaces" in root.data
        self.workspace_root = PNPM in self.manifests or has_workspaces
        if root is not None and root.data is not None and "name" in root.data:
            self.packages[""] = root

    def _component(self, directory: str, loaded: Loaded) -> None:
        if loaded.error is not None:
            self.out.result.errors.append(loaded.error)
        name = self._package_name(directory, loaded)
        if name is None:
            return
        component = Component(name, "npm", directory=directory, manifest=loaded.path)
        if not directory and self.workspace_root and loaded.data is not None:
            paths, exclude, problems = root_paths(loaded.data, sorted(self.packages))
            for problem in problems:
                self.out.error_at_key(loaded, "files", problem)
            component = component._replace(directory=None, paths=paths, exclude=exclude)
        if self.out.component(component, loaded):
            self.names[directory] = name
            self.by_name[name] = directory

    def _package_name(self, directory: str, loaded: Loaded) -> str | None:
        if loaded.data is None:
            return posixpath.basename(directory) or None
        name = loaded.data.get("name")
        if name is None and directory:
            return posixpath.basename(directory)
        if not isinstance(name, str) or not name:
            self.out.error_at_key(loaded, "name", "name must be a non-empty string")
            return posixpath.basename(directory) or None
        return name

    def _edges(self, directory: str, loaded: Loaded) -> None:
        source = self.names.get(directory)
        if loaded.data is None or source is None:
            return
        if directory and loaded.data.get("workspaces"):
            # yarn berry links the packages a member's own ``workspaces`` name (by name, plain
            # ranges too); lanes does not follow them, so a package using one would be missed
            message = "nested workspaces are not followed: a package linking one is missed"
            self._unresolved(loaded.path, line_of_key(loaded.text, "workspaces"), message)
        for kind, alias, spec, target in self._dependencies(directory, loaded, checked=True):
            if spec.strip().startswith("patch:"):
                self._patch(source, directory, spec)
            if target is None:
                continue
            self.out.edge(source, target, kind, False)
            self.targets.setdefault(directory, []).append((target, kind))
            if target != source:
                self.declared.append((directory, target, kind, alias))

    def _dependencies(
        self, directory: str, loaded: Loaded, *, checked: bool
    ) -> Iterator[tuple[EdgeKind, str, str, str | None]]:
        """(kind, name, specifier, the workspace package it lands on or None) of each
        dependency of the package at ``directory``; one that must link and lands on no package
        is unresolved. With ``checked``, a field or specifier of the wrong type is an error (an
        unnamed workspace root, no component, is not checked)."""
        assert loaded.data is not None
        for field_name, kind in _DEP_FIELDS:
            deps = loaded.data.get(field_name, {})
            if not isinstance(deps, dict):
                if checked:
                    self.out.error_at_key(loaded, field_name, f"{field_name} must be an object")
                continue
            for alias, spec in deps.items():
                if not isinstance(spec, str):
                    if checked:
                        message = f"{field_name}.{alias} must be a version string"
                        self.out.error_at_key(loaded, alias, message)
                    continue
                target = self._target(directory, alias, spec)
                if target is None and self._must_link(directory, spec):
                    message = f"{field_name}.{alias!r}: {spec!r} lands on no workspace package"
                    self._unresolved(loaded.path, line_of_key(loaded.text, alias), message)
                yield kind, alias, spec, target

    def _enclosing_edges(self) -> None:
        """Node's module resolution looks upwards from a package's directory, through the
        ``node_modules`` of every directory above it, and the package manager installs what a
        package depends on in its own directory's ``node_modules``: what an enclosing package
        depends on (the workspace root, or a member whose directory holds other members) is
        resolvable from every package below it, and usually used by them (a shared ESLint or
        TypeScript configuration, a code generator, a test preset installed at the root). So each
        package depends on the workspace packages its enclosing packages depend on, as Turborepo
        has every package depend on the workspace root."""
        enclosing = dict(self.targets)
        if self.workspace_root and "" not in self.names:
            enclosing[""] = self._unnamed_root_targets()
        for directory, source in self.names.items():
            above = directory
            while above:
                above = posixpath.dirname(above)
                for target, kind in enclosing.get(above, ()):
                    self.out.edge(source, target, kind, False)

    def _unnamed_root_targets(self) -> list[tuple[str, EdgeKind]]:
        """The workspace packages an unnamed workspace root depends on (it is no component, so
        :meth:`_edges` skips it); one that must link and lands on no member is unresolved."""
        root = self.root
        if root is None or not isinstance(root.data, dict):
            return []
        found = self._dependencies("", root, checked=False)
        return [(target, kind) for kind, _alias, _spec, target in found if target is not None]

    def _override_edges(self) -> None:
        """Root ``overrides`` (npm), ``resolutions`` (yarn), ``pnpm.overrides`` and
        ``pnpm-workspace.yaml`` ``overrides`` whose value is a workspace package (``file:``,
        ``link:``, ``portal:``, ``workspace:``) replace that package wherever the install tree
        holds it, registry packages' dependencies included, which the manifests do not show:
        every package then depends on it. One that lands on no package is unresolved."""
        found: list[tuple[str, str, str, int]] = []  # (file, key, spec, line)
        root = self.root.data if self.root is not None else None
        if isinstance(root, dict) and self.root is not None:
            pnpm = root.get("pnpm")
            for value in (
                root.get("overrides"),
                root.get("resolutions"),
                pnpm.get("overrides") if isinstance(pnpm, dict) else None,
            ):
                for key, spec in _override_specs(value, 0):
                    found.append((MANIFEST, key, spec, line_of_key(self.root.text, key)))
        if PNPM in self.manifests:
            text, data = self._pnpm
            if isinstance(data, dict):
                for key, spec in _override_specs(data.get("overrides"), 0):
                    found.append((PNPM, key, spec, line_of_key(text or "", key)))
        for path, key, spec, line in found:
            spec = spec.strip()
            if not spec.startswith((*_PATH_PROTOCOLS, "workspace:")):
                continue
            target = self._target("", _overridden_name(key), spec)
            if target is None:
                if self._must_link("", spec):
                    message = f"override {key!r}: {spec!r} lands on no workspace package"
                    self._unresolved(path, line, message)
                continue
            for source in self.names.values():
                self.out.edge(source, target, "normal", False)

    def _patch(self, reader: str | None, directory: str, spec: str) -> None:
        """The patch files of yarn's ``patch:<source>#<paths>`` (``&``-separated, each maybe
        ``optional!``; ``~/`` is the project root, anything else relative to ``directory``, the
        package declaring it), read by ``reader``. ``builtin<...>`` patches (``~builtin<...>``
        before yarn 4) ship with yarn."""
        body = spec.strip()[len("patch:") :]
        selector = body.partition("#")[2].split("::", 1)[0]
        for raw in selector.split("&"):
            path = raw.strip().removeprefix("optional!")
            if not path or path.startswith(("~builtin<", "builtin<")):
                continue
            base, path = ("", path[2:]) if path.startswith("~/") else (directory, path)
            for text in dict.fromkeys((path, unquote(path))):
                found = join_dir(base, text)
                if found:  # a path outside the repository: no change can touch it
                    self.patches.setdefault(reader, []).append(found)

    def _configured_patches(self) -> None:
        """Patches the workspace root applies wherever a package is installed: yarn
        ``resolutions`` with a ``patch:`` value (of a workspace package: read by it, its
        dependents follow; else by every package) and pnpm ``patchedDependencies`` (root
        ``pnpm.patchedDependencies``, ``pnpm-workspace.yaml``; paths from the root), read by
        every package: the patched package may sit anywhere in the install tree."""
        root = self.root.data if self.root is not None else None
        if isinstance(root, dict):
            resolutions = root.get("resolutions")
            for _key, spec in _override_specs(resolutions, 0):
                if spec.strip().startswith("patch:"):
                    # a workspace package's patched copy (``patch:b@workspace:...``) changes
                    # what uses ``b``; a registry package's (even one named as a member) may
                    # sit anywhere in the install tree
                    source = unquote(spec.strip()[len("patch:") :].split("#", 1)[0])
                    name = _alias_name(source, require_range=True) or ""
                    local = source[len(name) + 1 :].startswith((*_PATH_PROTOCOLS, "workspace:"))
                    self._patch(self._target("", "", spec) if local else None, "", spec)
            pnpm = root.get("pnpm")
            if isinstance(pnpm, dict):
                self._patched_dependencies(pnpm.get("patchedDependencies"))
        if PNPM in self.manifests:
            _text, data = self._pnpm
            if isinstance(data, dict):
                self._patched_dependencies(data.get("patchedDependencies"))

    def _patched_dependencies(self, value: object) -> None:
        for path in value.values() if isinstance(value, dict) else ():
            found = join_dir("", path) if isinstance(path, str) else None
            if found:
                self.patches.setdefault(None, []).append(found)

    def _with_patches(self, component: Component) -> Component:
        """``component`` reading the patch files that change what it installs."""
        from lanes.globs import literal_glob

        paths = [*self.patches.get(component.name, ()), *self.patches.get(None, ())]
        if not paths:
            return component
        reads = (*component.reads, *(literal_glob(p) for p in paths))
        return component._replace(reads=tuple(dict.fromkeys(reads)))

    def _catalog(self, catalog: str, alias: str) -> str | None:
        """pnpm's ``catalog:<catalog>`` entry for ``alias`` in ``pnpm-workspace.yaml``
        (``catalog`` is the ``default`` one), or None."""
        if PNPM not in self.manifests:
            return None
        _text, data = self._pnpm
        if not isinstance(data, dict):
            return None
        catalogs = data.get("catalogs")
        found = catalogs.get(catalog) if isinstance(catalogs, dict) else None
        if found is None and catalog == "default":
            found = data.get("catalog")
        entry = found.get(alias) if isinstance(found, dict) else None
        return entry if isinstance(entry, str) else None

    def _extension_edges(self) -> None:
        """``packageExtensions`` (root ``pnpm.packageExtensions``, ``pnpm-workspace.yaml``,
        ``.yarnrc.yml``) add dependencies to the packages their selector names, workspace
        packages and registry packages alike, which neither the manifests nor yarn's lock show:
        a dependency landing on a workspace package is an edge from the workspace package the
        selector names, and from every package when it names a third-party package (the
        install tree may hold it anywhere)."""
        for path, text, extensions in self._extensions():
            for selector, extension in extensions.items():
                for field, kind in _DEP_FIELDS:
                    deps = extension.get(field) if isinstance(extension, dict) else None
                    for alias, spec in deps.items() if isinstance(deps, dict) else ():
                        if isinstance(spec, str):
                            self._extension_edge(path, text, str(selector), str(alias), spec, kind)

    def _extension_edge(
        self, path: str, text: str, selector: str, alias: str, spec: str, kind: EdgeKind
    ) -> None:
        target = self._target("", alias, spec)
        if target is None:
            if self._must_link("", spec):
                message = f"packageExtensions {selector!r}: {alias} {spec!r} lands on no package"
                self._unresolved(path, line_of_key(text, alias), message)
            return
        extended = self._by_name(_alias_name(selector, require_range=False) or selector)
        for source in [extended] if extended is not None else list(self.names.values()):
            if source != target:
                self.out.edge(source, target, kind, False)

    def _extensions(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(file, text, its ``packageExtensions`` mapping) of each file that has one."""
        found: list[tuple[str, str, object]] = []
        root = self.root
        if root is not None and isinstance(root.data, dict):
            pnpm = root.data.get("pnpm")
            if isinstance(pnpm, dict):
                found.append((MANIFEST, root.text, pnpm.get("packageExtensions")))
        for path in (PNPM, _YARNRC):
            if path not in self.manifests:
                continue
            text, data = self._pnpm if path == PNPM else self._yarnrc()
            if isinstance(data, dict):
                found.append((path, text or "", data.get("packageExtensions")))
        return [(path, text, value) for path, text, value in found if isinstance(value, dict)]

    @cached_property
    def _pnpm(self) -> tuple[str | None, Any]:
        """``pnpm-workspace.yaml``'s text and document, read once per parse (overrides,
        catalogs and ``packageExtensions`` read it; its errors are reported by the locate step)."""
        text, data, _error = _read_pnpm(self.tree)
        return text, data

    def _yarnrc(self) -> tuple[str | None, Any]:
        """``.yarnrc.yml``'s text and document, within the size bound of
        ``pnpm-workspace.yaml``; one too large or that does not parse is a ``manifest-error``
        (its ``packageExtensions`` could add any edge)."""
        from lanes.discovery._jslock import _safe_yaml

        text, error = read_text(self.tree, _YARNRC)
        if text is not None and len(text) > MAX_WORKSPACE_BYTES:
            error = ManifestError(_YARNRC, 0, f"larger than {MAX_WORKSPACE_BYTES >> 10} KiB")
        if text is None or error is not None:
            self.out.result.errors.extend([error] if error else [])
            return text, None
        data, error = _safe_yaml(text, _YARNRC, 1)
        self.out.result.errors.extend([error] if error else [])
        return text, data

    def _must_link(self, directory: str, spec: str) -> bool:
        """Whether ``spec`` names a workspace package or a directory (not a registry range, nor
        a tarball file inside the repository)."""
        spec = spec.strip()
        if spec.startswith("workspace:"):
            return True
        if not spec.startswith(_PATH_PROTOCOLS):
            return False
        target = join_dir(directory, spec.split(":", 1)[1])
        return target is None or not self.tree.is_file(target)

    def _target(self, directory: str, alias: str, spec: str, depth: int = 0) -> str | None:
        spec = spec.strip()
        if spec.startswith("patch:") and depth < 4:
            # yarn: ``patch:b@workspace:packages/b#./b.patch`` is a patched copy of ``b``
            inner = unquote(spec[len("patch:") :].split("#", 1)[0])
            name = _alias_name(inner, require_range=True)
            if name is not None:
                return self._target(directory, name, inner[len(name) + 1 :], depth + 1)
        if spec.startswith("catalog:") and depth < 4:
            entry = self._catalog(spec[len("catalog:") :].strip() or "default", alias)
            if entry is not None:
                return self._target(directory, alias, entry, depth + 1)
        if spec.startswith(_PATH_PROTOCOLS):
            return self._by_path(directory, spec.split(":", 1)[1])
        if spec.startswith("workspace:"):
            rest = spec[len("workspace:") :]
            if rest.startswith((".", "/")):
                return self._by_path(directory, rest)
            alias = _alias_name(rest, require_range=True) or alias
        elif spec.startswith("npm:"):
            alias = _alias_name(spec[len("npm:") :], require_range=False) or alias
        return self._by_name(alias)

    def _by_name(self, name: str) -> str | None:
        directory = self.by_name.get(name)
        return self.names.get(directory) if directory is not None else None

    def _by_path(self, directory: str, path: str) -> str | None:
        target = join_dir(directory, path)
        return self.names.get(target) if target is not None else None

    def _lockfile_edges(self, result: Discovery) -> None:
        """Links the lockfiles record that no manifest edge states (``lockfile-edge:<name>``)."""
        from lanes.discovery._jslock import read_lockfile

        known = {(e.source, e.target) for e in result.edges}
        reported: set[tuple[str, str]] = set()
        own = {dirname(path) for path in self.manifests if path.endswith(_OWN_LOCK)}
        for lockfile in (p for p in self.manifests if p in LOCKFILES or p.endswith(_OWN_LOCK)):
            read = read_lockfile(self.tree, lockfile)
            result.errors.extend(read.errors)
            # deepest importers first: a package's own link decides its edge's kind, before
            # the same link reaches it from an enclosing package
            for link in sorted(read.links, key=lambda link: -_depth(link.source)):
                sources = self._lock_sources(link.source)
                target = self.names.get(link.target) if link.target is not None else None
                if sources is None:
                    continue  # an unnamed root package outside a workspace is no component
                if not sources or target is None:
                    where = f"{link.source}:{link.name}" if sources else link.source
                    if (lockfile, where) not in reported:
                        reported.add((lockfile, where))
                        message = f"{link.name!r}: lockfile link from {link.source or '.'!r} "
                        self._unresolved(lockfile, link.line, message + "lands on no package")
                    continue
                for source in sources:
                    if source != target and (source, target) not in known:
                        known.add((source, target))
                        dep = f"{LOCKFILE_EDGE}{link.name}"
                        result.edges.append(Edge(source, target, link.kind, dep=dep))
            if read.listed is not None and not read.errors:
                # a package with its own lock is not in the workspace's; its own lists it alone
                mine = {dirname(lockfile)} if lockfile not in LOCKFILES else set(self.names)
                mine -= own if lockfile == _OWN_LOCK[1:] else set()
                listed = {d: names for d, names in read.listed.items() if d in mine}
                gaps = self._lock_gaps(lockfile, listed, read.compare(), mine)
                result.lock_gaps += gaps
        result.errors.sort(key=lambda e: (e.path, e.line, e.message))

    def _lock_sources(self, directory: str) -> list[str] | None:
        """The components a lockfile link from ``directory`` is an edge of: the package there
        and every package below it (see :meth:`_enclosing_edges`); None for an unnamed root
        package outside a workspace."""
        source = self.names.get(directory)
        if not directory and not self.workspace_root:
            return None if source is None else [source]
        if directory and source is None:
            return []
        prefix = f"{directory}/" if directory else ""
        below = [name for d, name in self.names.items() if d != directory and d.startswith(prefix)]
        return [source, *below] if source is not None else below

    def _lock_gaps(
        self,
        lockfile: str,
        listed: dict[str, frozenset[str]],
        compare: LockCompare | None,
        mine: set[str],
    ) -> list[LockGap]:
        """Packages ``lockfile`` does not list, and manifest edges it does not record for the
        depending package: for pnpm and yarn berry (``compare``: ``LockRead.compare``), as
        their frozen install checks it, once per dependency name (a normal edge before a dev
        one); for package-lock by dependency name in any field (a name a lock resolves from the
        registry by configuration is not stale). Only the packages ``mine`` lock with it."""
        gaps = [
            LockGap(lockfile, name)
            for directory, name in sorted(self.names.items())
            if directory in mine
            and directory not in listed
            and self.packages[directory].data is not None
        ]
        compared: set[tuple[str, str]] = set()
        for directory, target, kind, alias in sorted(self.declared, key=lambda d: d[2] == "dev"):
            names = listed.get(directory)
            if names is None:
                continue  # the package is not listed: reported above
            source = self.names[directory]
            if compare is None:
                if alias not in names:
                    gaps.append(LockGap(lockfile, source, target, kind))
                continue
            data = self.packages[directory].data
            if (directory, alias) in compared or data is None:
                continue
            compared.add((directory, alias))
            gap = compare(directory, data, alias)
            if gap is not None:
                gaps.append(LockGap(lockfile, source, target, kind, *gap))
        return sorted(set(gaps))


def root_paths(
    manifest: dict[str, Any], members: list[str]
) -> tuple[tuple[str, ...], tuple[str, ...], list[str]]:
    """What a workspace root package owns: ``(paths, exclude, problems)``.

    A private root owns nothing. A public one owns what its manifest says it ships: each
    ``files`` entry (a directory with everything below it; ``!`` entries removed), and for each
    file named by ``main`` (``index.js`` when absent), ``module``, ``browser``, ``types``,
    ``typings``, ``bin``, ``man``, ``exports`` and ``directories``: the file itself at the top
    level, otherwise the whole top-level directory holding it (sources beside a built entry point
    count). Top-level hidden paths (``.github/``) and member directories are never the root's
    (negated at the end of ``paths``).
    """
    from lanes.globs import GlobError, compile_glob

    if manifest.get("private") is True:
        return (), (), []
    problems: list[str] = []
    paths: list[str] = []
    files = manifest.get("files", [])
    entries = str_list(files)
    if entries is None:
        problems.append("files must be a list of strings")
    for entry in entries or []:
        negated = entry.startswith("!")
        clean = _relative(entry.removeprefix("!"))
        if clean is not None:
            paths += [f"{'!' if negated else ''}{p}" for p in (clean, f"{clean}/**")]
    for target in _named_targets(manifest):
        clean = _relative(target)
        if clean is not None:
            top, slash, _rest = clean.partition("/")
            paths.append(f"{top}/**" if slash else clean)
    valid: list[str] = []
    for pattern in dict.fromkeys(_simple(p) for p in paths):
        if not pattern:
            continue
        try:
            compile_glob(pattern.removeprefix("!"))
        except GlobError as exc:
            problems.append(f"cannot own {pattern!r}: {exc}")
            continue
        if not pattern.removeprefix("!").startswith("."):
            valid.append(pattern)
    while valid and valid[0].startswith("!"):
        valid.pop(0)
    if not valid:
        return (), (), problems
    # Negations at the end of the list rather than ``exclude``: a ``components`` entry in
    # lanes.yml replaces a component's exclude, and these must hold whatever the file says.
    never = ("!.*", "!.*/**", *(f"!{m}/**" for m in members if m))
    return (*valid, *never), (), problems


def _depth(directory: str) -> int:
    """How many directories deep ``directory`` lies (the root ``""`` is 0)."""
    return directory.count("/") + 1 if directory else 0


def _simple(pattern: str) -> str:
    """``pattern``, or the literal directory it starts with when it has more wildcards than
    :data:`MAX_WILDCARDS` (backtracking stays bounded); ``""`` when nothing literal is left."""
    if pattern.removesuffix("/**").count("*") <= MAX_WILDCARDS and len(pattern) <= 256:
        return pattern
    literal = []
    for segment in pattern.removeprefix("!").split("/"):
        if set(segment) & set("*?["):
            break
        literal.append(segment)
    return f"{'!' if pattern.startswith('!') else ''}{'/'.join(literal)}/**" if literal else ""


def _relative(path: str) -> str | None:
    """A manifest-relative path as a repository-relative one; None if empty or outside."""
    path = path.strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    path = path.rstrip("/")
    if not path or path == "." or path.startswith("/") or ".." in path.split("/"):
        return None
    return path


def _named_targets(manifest: dict[str, Any]) -> list[str]:
    found: list[str] = []
    if "main" not in manifest:
        found.append("index.js")
    for field in _TARGET_FIELDS:
        _strings(manifest.get(field), found, depth=0)
    directories = manifest.get("directories")
    if isinstance(directories, dict):
        _strings(list(directories.values()), found, depth=0)
    return found


def _strings(value: object, found: list[str], depth: int) -> None:
    """Every string in ``value`` (nested objects and arrays, as in ``exports``), bounded."""
    if isinstance(value, str):
        found.append(value)
    elif depth < 16 and isinstance(value, dict):
        for item in value.values():
            _strings(item, found, depth + 1)
    elif depth < 16 and isinstance(value, list):
        for item in value:
            _strings(item, found, depth + 1)


def _override_specs(value: object, depth: int) -> list[tuple[str, str]]:
    """(key, specifier) of every override entry; npm nests them (``{"a": {"b": "file:x"}}``,
    ``"."`` for the package itself)."""
    found: list[tuple[str, str]] = []
    if not isinstance(value, dict) or depth > 16:
        return found
    for key, spec in value.items():
        if isinstance(spec, str):
            found.append((str(key), spec))
        elif isinstance(spec, dict):
            inner = _override_specs(spec, depth + 1)
            found += [(str(key) if k == "." else k, v) for k, v in inner]
    return found


def _overridden_name(key: str) -> str:
    """The package an override key replaces: ``b`` of ``a>b``, ``**/b``, ``a/b``, ``b@^1``."""
    key = key.rpartition(">")[2].strip()
    parts = key.split("/")
    if len(parts) >= 2 and parts[-2].startswith("@"):
        name = f"{parts[-2]}/{parts[-1]}"
    else:
        name = parts[-1]
    return _alias_name(name, require_range=False) or name


def _alias_name(spec: str, *, require_range: bool) -> str | None:
    """``@scope/name`` from ``@scope/name@^1``; ``None`` when ``spec`` names no package."""
    at = spec.find("@", 1)
    if at < 0 and require_range:
        return None
    name = spec[:at] if at > 0 else spec
    return name if _NPM_NAME.fullmatch(name) else None


def parse(source: Source, manifests: list[str]) -> Discovery:
    return _Parser(as_tree(source), manifests).run()
