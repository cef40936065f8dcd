"""npm, yarn and pnpm workspaces: the root ``package.json`` and its workspace packages."""

from __future__ import annotations

import os
import posixpath
import re
from typing import NamedTuple

from lanes.discovery._common import (
    Collector,
    Loaded,
    dirname,
    expand_members,
    join_dir,
    line_of_key,
    load_json,
    manifest_path,
    read_text,
    str_list,
)
from lanes.model import Component, Discovery, EdgeKind, ManifestError, StrPath

MANIFEST = "package.json"
PNPM = "pnpm-workspace.yaml"
_SKIP = frozenset({"node_modules", ".git"})
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


def _load_pnpm(repo: StrPath) -> tuple[list[str] | None, ManifestError | None]:
    text, error = read_text(repo, PNPM)
    if text is None:
        return None, error
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 0
        return None, ManifestError(PNPM, line, f"invalid YAML: {exc}".splitlines()[0])
    except RecursionError:
        return None, ManifestError(PNPM, 0, "invalid YAML: nested too deeply")
    data = {} if data is None else data
    packages = str_list(data.get("packages", [])) if isinstance(data, dict) else None
    if packages is None:
        line = line_of_key(text, "packages") or 1
        return None, ManifestError(PNPM, line, "packages must be a list of strings")
    return packages, None


def _split(patterns: list[str]) -> _Patterns:
    include = [p for p in patterns if not p.startswith("!")]
    exclude = [p[1:] for p in patterns if p.startswith("!")]
    return _Patterns(include, exclude)


def _workspace_patterns(
    repo: StrPath, root: Loaded | None, errors: list[ManifestError]
) -> _Patterns:
    patterns: list[str] = []
    if root is not None and root.data is not None:
        found = _package_json_patterns(root)
        if found is None:
            errors.append(
                ManifestError(MANIFEST, line_of_key(root.text, "workspaces"), "invalid workspaces")
            )
        patterns += found or []
    if os.path.isfile(os.path.join(repo, PNPM)):
        pnpm, error = _load_pnpm(repo)
        errors.extend([error] if error else [])
        patterns += pnpm or []
    return _split(patterns)


def _root(repo: StrPath) -> Loaded | None:
    return load_json(repo, MANIFEST) if os.path.isfile(os.path.join(repo, MANIFEST)) else None


def locate(repo: StrPath) -> list[str]:
    root = _root(repo)
    has_pnpm = os.path.isfile(os.path.join(repo, PNPM))
    if root is None and not has_pnpm:
        return []
    patterns = _workspace_patterns(repo, root, [])
    members = expand_members(
        repo, patterns.include, patterns.exclude, MANIFEST, skip_segments=_SKIP
    )
    located = {manifest_path(d, MANIFEST) for d in members.dirs}
    located.update(name for name, present in ((MANIFEST, root), (PNPM, has_pnpm)) if present)
    return sorted(located)


class _Parser:
    def __init__(self, repo: StrPath, manifests: list[str]) -> None:
        self.repo = repo
        self.manifests = manifests
        self.out = Collector(manifests)
        self.packages: dict[str, Loaded] = {}
        self.names: dict[str, str] = {}
        self.by_name: dict[str, str] = {}

    def run(self) -> Discovery:
        self._load_root()
        for path in self.manifests:
            if path not in (MANIFEST, PNPM):
                self.packages[dirname(path)] = load_json(self.repo, path)
        for directory in sorted(self.packages):
            self._component(directory, self.packages[directory])
        for directory in sorted(self.packages):
            self._edges(directory, self.packages[directory])
        return self.out.finish()

    def _load_root(self) -> None:
        root = _root(self.repo) if MANIFEST in self.manifests else None
        if root is not None and root.error is not None:
            self.out.result.errors.append(root.error)
        if PNPM in self.manifests or root is not None:
            _workspace_patterns(self.repo, root, self.out.result.errors)
        if root is not None and root.data is not None and "name" in root.data:
            self.packages[""] = root

    def _component(self, directory: str, loaded: Loaded) -> None:
        if loaded.error is not None:
            self.out.result.errors.append(loaded.error)
        name = self._package_name(directory, loaded)
        if name is None:
            return
        component = Component(name, "npm", directory=directory, manifest=loaded.path)
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
        for field_name, kind in _DEP_FIELDS:
            deps = loaded.data.get(field_name, {})
            if not isinstance(deps, dict):
                self.out.error_at_key(loaded, field_name, f"{field_name} must be an object")
                continue
            for alias, spec in deps.items():
                if not isinstance(spec, str):
                    message = f"{field_name}.{alias} must be a version string"
                    self.out.error_at_key(loaded, alias, message)
                    continue
                target = self._target(directory, alias, spec)
                if target is not None:
                    self.out.edge(source, target, kind, False)

    def _target(self, directory: str, alias: str, spec: str) -> str | None:
        spec = spec.strip()
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


def _alias_name(spec: str, *, require_range: bool) -> str | None:
    """``@scope/name`` from ``@scope/name@^1``; ``None`` when ``spec`` names no package."""
    at = spec.find("@", 1)
    if at < 0 and require_range:
        return None
    name = spec[:at] if at > 0 else spec
    return name if _NPM_NAME.fullmatch(name) else None


def parse(repo: StrPath, manifests: list[str]) -> Discovery:
    return _Parser(repo, manifests).run()
