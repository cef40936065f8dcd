"""Cargo workspaces: the root ``Cargo.toml``'s members and their path/workspace dependencies."""

import os
import posixpath
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from lanes.discovery._common import (
    Collector,
    Loaded,
    check_members,
    dirname,
    expand_members,
    join_dir,
    line_of_key,
    load_toml,
    load_toml_cached,
    manifest_path,
    repo_name,
    str_list,
    table,
)
from lanes.model import Component, Discovery, EdgeKind, StrPath

MANIFEST = "Cargo.toml"
_PACKAGE_NAME = r"""(?ms)^\[package\][^\[]*?^\s*name\s*=\s*["']([^"'\n]+)["']"""  # compiled on use
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
    patches: dict[str, str]


class _Dependency(NamedTuple):
    alias: str
    kind: EdgeKind
    spec: object
    table: str
    header: tuple[str, ...]


def _workspace(doc: dict[str, Any], root: Loaded, out: Collector | None) -> _Workspace:
    section = table(doc, "workspace")
    if section is None:
        _report(out, root, "workspace", "[workspace] must be a table")
        return _Workspace([], [], {}, {})
    lists: dict[str, list[str]] = {}
    for key in ("members", "exclude"):
        values = str_list(section.get(key, []))
        if values is None:
            _report(out, root, key, f"[workspace].{key} must be an array of strings")
        lists[key] = values or []
    deps = table(section, "dependencies")
    if deps is None:
        _report(out, root, "dependencies", "[workspace.dependencies] must be a table")
    return _Workspace(lists["members"], lists["exclude"], deps or {}, _patches(doc))


def _patches(doc: dict[str, Any]) -> dict[str, str]:
    """Package name -> directory for ``[patch.<registry>]`` entries with a ``path``."""
    patches: dict[str, str] = {}
    patch = doc.get("patch")
    if not isinstance(patch, dict):
        return patches
    for source in patch.values():
        if not isinstance(source, dict):
            continue
        for alias, spec in source.items():
            if isinstance(spec, dict) and isinstance(spec.get("path"), str):
                directory = join_dir("", spec["path"])
                package = spec.get("package", alias)
                if directory is not None and isinstance(package, str):
                    patches[package] = directory
    return patches


def _report(out: Collector | None, loaded: Loaded, key: str, message: str) -> None:
    if out is not None:
        out.error_at_key(loaded, key, message)


def locate(repo: StrPath) -> list[str]:
    if not os.path.isfile(os.path.join(repo, MANIFEST)):
        return []
    root = load_toml_cached(repo, MANIFEST)
    if root.data is None or "workspace" not in root.data:
        return [MANIFEST]
    ws = _workspace(root.data, root, None)
    members = expand_members(repo, ws.patterns, ws.excludes, MANIFEST)
    return sorted({MANIFEST, *(manifest_path(d, MANIFEST) for d in members.dirs)})


def _dependency_tables(loaded: Loaded, out: Collector) -> Iterator[_Dependency]:
    assert loaded.data is not None
    scopes: list[tuple[str, dict[str, Any]]] = [("", loaded.data)]
    target = loaded.data.get("target", {})
    if isinstance(target, dict):
        scopes += [(cfg, v) for cfg, v in target.items() if isinstance(v, dict)]
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


class _Resolved(NamedTuple):
    directory: str | None
    package: str
    optional: bool


class _Parser:
    def __init__(self, repo: StrPath, manifests: list[str]) -> None:
        self.repo = repo
        self.manifests = manifests
        self.out = Collector(manifests)
        self.ws = _Workspace([], [], {}, {})
        self.members: dict[str, Loaded] = {}
        self.names: dict[str, str] = {}

    def run(self) -> Discovery:
        self._load_root()
        for path in self.manifests:
            if path != MANIFEST:
                self.members[dirname(path)] = load_toml(self.repo, path)
        for directory in sorted(self.members):
            self._component(directory, self.members[directory])
        for directory in sorted(self.members):
            self._edges(directory, self.members[directory])
        return self.out.finish()

    def _load_root(self) -> None:
        if MANIFEST not in self.manifests:
            return
        found = self.out.root_toml(self.repo, MANIFEST)
        if found is None:
            return
        root, data = found
        if "workspace" in data:
            self.ws = _workspace(data, root, self.out)
            check_members(self.repo, self.ws.patterns, self.ws.excludes, MANIFEST, root, self.out)
        if "package" in data or "workspace" not in data:
            self.members[""] = root

    def _component(self, directory: str, loaded: Loaded) -> None:
        if loaded.error is not None:
            self.out.result.errors.append(loaded.error)
        name = self._package_name(directory, loaded)
        component = Component(name, "cargo", directory=directory, manifest=loaded.path)
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
        return _guess_name(loaded.text) or posixpath.basename(directory) or repo_name(self.repo)

    def _edges(self, directory: str, loaded: Loaded) -> None:
        source = self.names.get(directory)
        if loaded.data is None or source is None:
            return
        for dep in _dependency_tables(loaded, self.out):
            resolved = self._resolve(directory, dep, loaded)
            if resolved is None:
                continue
            target_dir = resolved.directory
            if target_dir is None:
                target_dir = self.ws.patches.get(resolved.package)
            target = self.names.get(target_dir) if target_dir is not None else None
            if target is not None:
                self.out.edge(source, target, dep.kind, resolved.optional)

    def _resolve(self, directory: str, dep: _Dependency, loaded: Loaded) -> _Resolved | None:
        if isinstance(dep.spec, str):
            return _Resolved(None, dep.alias, False)
        if not isinstance(dep.spec, dict):
            self._bad(loaded, dep, "must be a version string or a table")
            return None
        optional = dep.spec.get("optional", False)
        if not isinstance(optional, bool):
            self._bad(loaded, dep, "optional must be a boolean")
            optional = False
        spec, base = dep.spec, directory
        if spec.get("workspace") is True:
            inherited = self.ws.dependencies.get(dep.alias)
            if inherited is None:
                self._bad(
                    loaded, dep, "has workspace = true but is not in [workspace.dependencies]"
                )
                return None
            spec = inherited if isinstance(inherited, dict) else {}
            base = ""
        package = spec.get("package", dep.alias)
        path = spec.get("path")
        if not isinstance(package, str) or not (path is None or isinstance(path, str)):
            self._bad(loaded, dep, "package and path must be strings")
            return None
        target = join_dir(base, path) if path is not None else None
        return _Resolved(target, package, optional)

    def _bad(self, loaded: Loaded, dep: _Dependency, message: str) -> None:
        line = line_of_key(loaded.text, dep.alias, section=dep.header)
        self.out.error(loaded.path, line, f"[{dep.table}] {dep.alias}: {message}")


def parse(repo: StrPath, manifests: list[str]) -> Discovery:
    return _Parser(repo, manifests).run()
