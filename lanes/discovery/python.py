"""Python projects: the root ``pyproject.toml`` and the members of its uv workspace."""

from __future__ import annotations

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
    line_of_text,
    load_toml,
    load_toml_cached,
    manifest_path,
    str_list,
    table,
)
from lanes.discovery._pep508 import InvalidRequirement, normalize, parse_requirement
from lanes.model import Component, Discovery, EdgeKind, StrPath

MANIFEST = "pyproject.toml"
_PROJECT_NAME = re.compile(r"""^\[project\][^\[]*?^\s*name\s*=\s*["']([^"'\n]+)["']""", re.M | re.S)


class _Source(NamedTuple):
    """One ``[tool.uv.sources]`` entry and the directory of the manifest declaring it."""

    base: str
    spec: dict[str, Any]


class _Requirement(NamedTuple):
    text: str
    kind: EdgeKind
    optional: bool
    where: str


class _Project:
    """A project being read: its name and sources are filled in once it is a component."""

    def __init__(self, directory: str, loaded: Loaded) -> None:
        self.directory = directory
        self.loaded = loaded
        self.name: str | None = None
        self.sources: dict[str, list[_Source]] = {}


def _uv(doc: dict[str, Any]) -> dict[str, Any]:
    tool = doc.get("tool")
    uv = tool.get("uv") if isinstance(tool, dict) else None
    return uv if isinstance(uv, dict) else {}


def _workspace_table(doc: dict[str, Any]) -> dict[str, Any] | None:
    workspace = _uv(doc).get("workspace")
    return workspace if isinstance(workspace, dict) else None


def _patterns(workspace: dict[str, Any], key: str) -> list[str] | None:
    return str_list(workspace.get(key, []))


def locate(repo: StrPath) -> list[str]:
    if not os.path.isfile(os.path.join(repo, MANIFEST)):
        return []
    root = load_toml_cached(repo, MANIFEST)
    workspace = _workspace_table(root.data) if root.data is not None else None
    if workspace is None:
        return [MANIFEST]
    members = expand_members(
        repo, _patterns(workspace, "members") or [], _patterns(workspace, "exclude") or [], MANIFEST
    )
    return sorted({MANIFEST, *(manifest_path(d, MANIFEST) for d in members.dirs)})


def _requirements(loaded: Loaded, out: Collector) -> Iterator[_Requirement]:
    assert loaded.data is not None
    project = table(loaded.data, "project")
    if project is None:
        return
    yield from _requirement_list(loaded, out, project, "dependencies", "normal", False)
    extras = table(project, "optional-dependencies")
    if extras is None:
        out.error_at_key(loaded, "optional-dependencies", "must be a table of arrays")
    else:
        for extra in extras:
            yield from _requirement_list(loaded, out, extras, extra, "normal", True)
    yield from _dependency_groups(loaded, out)
    yield from _requirement_list(loaded, out, _uv(loaded.data), "dev-dependencies", "dev", False)
    build = table(loaded.data, "build-system") or {}
    yield from _requirement_list(loaded, out, build, "requires", "build", False)


def _requirement_list(
    loaded: Loaded, out: Collector, owner: dict[str, Any], key: str, kind: EdgeKind, optional: bool
) -> Iterator[_Requirement]:
    values = str_list(owner.get(key, []))
    if values is None:
        out.error_at_key(loaded, key, f"{key} must be an array of requirement strings")
        return
    for value in values:
        yield _Requirement(value, kind, optional, key)


def _dependency_groups(loaded: Loaded, out: Collector) -> Iterator[_Requirement]:
    assert loaded.data is not None
    groups = table(loaded.data, "dependency-groups")
    if groups is None:
        out.error_at_key(loaded, "dependency-groups", "[dependency-groups] must be a table")
        return
    known = {normalize(group) for group in groups}
    for group, entries in groups.items():
        if not isinstance(entries, list):
            out.error_at_key(loaded, group, f"dependency group {group!r} must be an array")
            continue
        for entry in entries:
            if isinstance(entry, str):
                yield _Requirement(entry, "dev", False, group)
            elif not _valid_include(entry, known):
                message = f"dependency group {group!r}: invalid entry {entry!r}"
                out.error_at_key(loaded, group, message)


def _valid_include(entry: object, known: set[str]) -> bool:
    if not isinstance(entry, dict) or set(entry) != {"include-group"}:
        return False
    target = entry["include-group"]
    return isinstance(target, str) and normalize(target) in known


class _Parser:
    def __init__(self, repo: StrPath, manifests: list[str]) -> None:
        self.repo = repo
        self.manifests = manifests
        self.out = Collector(manifests)
        self.projects: dict[str, _Project] = {}
        self.by_key: dict[str, str] = {}
        self.root_sources: dict[str, list[_Source]] = {}

    def run(self) -> Discovery:
        self._load_root()
        for path in self.manifests:
            if path != MANIFEST:
                self.projects[dirname(path)] = _Project(dirname(path), load_toml(self.repo, path))
        for directory in sorted(self.projects):
            self._component(self.projects[directory])
        for directory in sorted(self.projects):
            self._edges(self.projects[directory])
        return self.out.finish()

    def _load_root(self) -> None:
        if MANIFEST not in self.manifests:
            return
        found = self.out.root_toml(self.repo, MANIFEST)
        if found is None:
            return
        root, data = found
        workspace = _workspace_table(data)
        if workspace is not None:
            self._check_workspace(root, workspace)
        self.root_sources = self._sources(root, "")
        if "project" in data:
            self.projects[""] = _Project("", root)

    def _check_workspace(self, root: Loaded, workspace: dict[str, Any]) -> None:
        patterns = _patterns(workspace, "members")
        excludes = _patterns(workspace, "exclude")
        for key, value in (("members", patterns), ("exclude", excludes)):
            if value is None:
                self.out.error_at_key(root, key, f"[tool.uv.workspace].{key} must be an array")
        check_members(self.repo, patterns or [], excludes or [], MANIFEST, root, self.out)

    def _sources(self, loaded: Loaded, base: str) -> dict[str, list[_Source]]:
        assert loaded.data is not None
        sources = _uv(loaded.data).get("sources", {})
        if not isinstance(sources, dict):
            self.out.error_at_key(loaded, "sources", "[tool.uv.sources] must be a table")
            return {}
        result: dict[str, list[_Source]] = {}
        for name, value in sources.items():
            entries = value if isinstance(value, list) else [value]
            if not all(isinstance(entry, dict) for entry in entries):
                self.out.error_at_key(loaded, name, f"source {name!r} must be a table")
                continue
            result[normalize(name)] = [_Source(base, entry) for entry in entries]
        return result

    def _component(self, project: _Project) -> None:
        loaded = project.loaded
        if loaded.error is not None:
            self.out.result.errors.append(loaded.error)
        name = self._project_name(project)
        component = Component(name, "python", directory=project.directory, manifest=loaded.path)
        first = self.by_key.get(normalize(name))
        if first is not None and self.projects[first].name != name:
            message = (
                f"duplicate project name {name!r} (normalizes like {self.projects[first].name!r})"
            )
            self.out.error_at_key(loaded, "name", message)
            return
        if self.out.component(component, loaded):
            project.name = name
            self.by_key[normalize(name)] = project.directory
            if loaded.data is not None and project.directory:
                project.sources = self._sources(loaded, project.directory)

    def _project_name(self, project: _Project) -> str:
        loaded = project.loaded
        if loaded.data is None:
            return self._fallback_name(project)
        section = loaded.data.get("project")
        if not isinstance(section, dict):
            self.out.error_at_key(loaded, "project", "missing [project] table")
            return self._fallback_name(project)
        name = section.get("name")
        if not isinstance(name, str) or not name:
            self.out.error_at_key(
                loaded, "name", "[project].name must be a non-empty string", parent="project"
            )
            return self._fallback_name(project)
        return name

    def _fallback_name(self, project: _Project) -> str:
        """What is known of a broken manifest's name: a ``name =`` line, else the directory."""
        match = _PROJECT_NAME.search(project.loaded.text)
        if match:
            return match.group(1)
        return posixpath.basename(project.directory) or os.path.basename(
            os.path.realpath(self.repo)
        )

    def _edges(self, project: _Project) -> None:
        if project.loaded.data is None or project.name is None:
            return
        for requirement in _requirements(project.loaded, self.out):
            target = self._target(project, requirement)
            if target is not None:
                self.out.edge(project.name, target, requirement.kind, requirement.optional)

    def _target(self, project: _Project, requirement: _Requirement) -> str | None:
        try:
            key = parse_requirement(requirement.text).key
        except InvalidRequirement as exc:
            line = line_of_text(project.loaded.text, requirement.text) or line_of_key(
                project.loaded.text, requirement.where
            )
            message = f"invalid requirement {requirement.text!r} in {requirement.where}: {exc}"
            self.out.error(project.loaded.path, line, message)
            return None
        sources = project.sources.get(key) or self.root_sources.get(key)
        if sources is None:
            return self._member(self.by_key.get(key))
        for source in sources:
            target = self._from_source(source, key)
            if target is not None:
                return target
        return None

    def _from_source(self, source: _Source, key: str) -> str | None:
        if source.spec.get("workspace") is True:
            return self._member(self.by_key.get(key))
        path = source.spec.get("path")
        if isinstance(path, str):
            directory = join_dir(source.base, path)
            return self._member(directory)
        return None

    def _member(self, directory: str | None) -> str | None:
        project = self.projects.get(directory) if directory is not None else None
        return project.name if project is not None else None


def parse(repo: StrPath, manifests: list[str]) -> Discovery:
    return _Parser(repo, manifests).run()
