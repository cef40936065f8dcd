"""Python projects anywhere in the repository, their uv workspaces and their ``uv.lock`` files.

Every ``pyproject.toml`` with a ``[project]`` table is a component (tracked ones in a git
repository, see ``lanes.discovery._tree``); ``[tool.uv.workspace]`` tables, wherever they are,
group members. Edges are requirements that land on a project: through a ``[tool.uv.sources]``
entry (``workspace = true``, or a ``path`` in any direction), or by name within the same
workspace. Extras and dependency groups become features (``lanes.features`` decides which a lane
installs): extra ``x`` enables ``dep:extra:x:<name>``, group ``g`` is the feature ``group:g``
enabling ``dep:group:g:<name>``; a requirement ``pkg[a, b]`` requests ``a`` and ``b`` on ``pkg``.
The committed ``uv.lock`` is a second source: it gives the edges of ``dynamic`` dependencies, and
an edge between workspace packages that it has and the manifests lack is added with a
``lockfile-edge:`` key. The other way round, a project of the lock's workspace (or the
standalone project) the lock does not list, and a manifest edge its entry does not record in the
matching section (``dependencies``, ``optional-dependencies.<extra>``,
``dev-dependencies.<group>``) are ``LockGap`` records: a stale lock, reported by ``lanes check``.
Build requirements are not checked: uv does not lock ``[build-system] requires``.

Without a ``uv.lock``, what a third-party package requires is unknown, and uv resolves its
requirement on a local project's name to that project: a uv workspace (or a project with a
``[tool.uv]`` table) that has no lock, two local projects or more and a third-party requirement
is an ``unlocked-dependencies`` error (one per root, at its first third-party requirement).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from lanes.discovery import _tree
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
    parse_toml,
    read_text,
    repo_name,
    str_list,
    table,
)
from lanes.discovery._pep508 import (
    InvalidRequirement,
    Requirement,
    normalize,
    parse_requirement,
)
from lanes.discovery._source import Source, Tree, as_tree
from lanes.globs import literal_glob
from lanes.model import (
    LOCKFILE_EDGE,
    STALE_LOCKFILE,
    UNLOCKED_DEPENDENCIES,
    Component,
    Discovery,
    Edge,
    EdgeKind,
    LockGap,
    ManifestError,
)

MANIFEST = "pyproject.toml"
LOCK = "uv.lock"
UV_TOML = "uv.toml"  # uv's configuration beside a workspace root's (or project's) manifest
# Fields uv refuses in a uv.toml ("only applicable in the context of a project"), uv 0.13.9.
_PROJECT_ONLY = (
    "sources",
    "dev-dependencies",
    "workspace",
    "managed",
    "package",
    "default-groups",
    "conflicts",
    "environments",
    "required-environments",
    "build-backend",
)
_PROJECT_NAME = re.compile(r"""^\[project\][^\[]*?^\s*name\s*=\s*["']([^"'\n]+)["']""", re.M | re.S)
_EXTRA_MARKER = r"""extra\s*==\s*["']([^"']+)["']"""  # compiled on first use (parse only)
# Any spelling of a workspace table (``[tool.uv.workspace]``, ``workspace = {``,
# ``workspace.members =``), not a ``{ workspace = true }`` source: only those are parsed by locate.
_WORKSPACE_KEY = re.compile(rb"""workspace["']?[ \t]*(?:\]|\.|=[ \t]*\{)""")
_LOCAL_SOURCES = ("editable", "virtual", "directory")
_VIA = "via:"  # the key of an edge through a third-party package: ``via:<its name>:<key>``
# Files at a workspace root's top level that belong to its own package build.
_BUILD_FILES = ("setup.py", "setup.cfg", "MANIFEST.in", "hatch_build.py", "build.py")


class _Source(NamedTuple):
    """One ``[tool.uv.sources]`` entry and the directory of the manifest declaring it."""

    base: str
    spec: dict[str, Any]
    manifest: Loaded


class _Requirement(NamedTuple):
    text: str
    kind: EdgeKind
    feature: str  # "" for plain dependencies, else the extra or "group:<name>"
    where: str


class _ThirdParty(NamedTuple):
    """A requirement of a project installed (in some case) from outside the projects."""

    line: int
    text: str
    key: str  # the normalized name
    feature: str  # "" for plain dependencies, else the extra or "group:<name>"
    extras: tuple[str, ...]


class _Project:
    """A project being read: its name and sources are filled in once it is a component."""

    def __init__(self, directory: str, loaded: Loaded, workspace: str | None) -> None:
        self.directory = directory
        self.loaded = loaded
        self.workspace = workspace  # the directory of its workspace root, if any
        self.name: str | None = None
        self.sources: dict[str, list[_Source]] = {}
        self.features: dict[str, list[str]] = {}
        self.locked = False  # a uv.lock records it
        # each requirement that lands on no project: a third-party package, whose own
        # requirements only a lock records
        self.third_party: list[_ThirdParty] = []
        self.files: set[str] = set()  # archives it installs from the repository (path sources)

    @property
    def dynamic(self) -> set[str]:
        """The dynamic fields among ``dependencies`` and ``optional-dependencies``."""
        section = table(self.data, "project") or {}
        fields = str_list(section.get("dynamic", [])) or []
        return set(fields) & {"dependencies", "optional-dependencies"}

    @property
    def data(self) -> dict[str, Any]:
        return self.loaded.data or {}


def _uv(doc: dict[str, Any]) -> dict[str, Any]:
    tool = doc.get("tool")
    uv = tool.get("uv") if isinstance(tool, dict) else None
    return uv if isinstance(uv, dict) else {}


def _has_uv_table(doc: dict[str, Any]) -> bool:
    """A ``[tool.uv]`` table (any key, or none): the project is managed with uv."""
    tool = doc.get("tool")
    return isinstance(tool, dict) and isinstance(tool.get("uv"), dict)


def _workspace_table(doc: dict[str, Any]) -> dict[str, Any] | None:
    workspace = _uv(doc).get("workspace")
    return workspace if isinstance(workspace, dict) else None


def _patterns(workspace: dict[str, Any], key: str) -> list[str] | None:
    return str_list(workspace.get(key, []))


def _under(directory: str, patterns: list[str]) -> list[str]:
    """Member patterns of a workspace rooted at ``directory`` as repository-relative ones."""
    if not directory:
        return patterns
    return [f"{directory}/{p.strip().removeprefix('./')}" for p in patterns]


def _members(tree: Tree, directory: str, workspace: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The member directories of a workspace (with and without a manifest), the root included."""
    members = expand_members(
        tree,
        _under(directory, _patterns(workspace, "members") or []),
        _under(directory, _patterns(workspace, "exclude") or []),
        MANIFEST,
    )
    return {directory, *members.dirs}, set(members.missing)


def _maybe_workspace(tree: Tree, path: str) -> dict[str, Any] | None:
    """The ``[tool.uv.workspace]`` table of ``path``, reading only manifests that mention one."""
    try:
        raw = tree.read(path)
    except OSError:
        return None
    if raw is None or not _WORKSPACE_KEY.search(raw):
        return None
    loaded = load_toml_cached(tree, path)
    return _workspace_table(loaded.data) if loaded.data is not None else None


def _pyprojects(tree: Tree) -> list[str]:
    found = set(tree.manifests().named(MANIFEST))
    if tree.is_file(MANIFEST):
        found.add(MANIFEST)
    return sorted(found)


def locate(source: Source) -> list[str]:
    """Every ``pyproject.toml`` in the tree, the expected manifest of every workspace member
    (absent ones too) and the ``uv.lock`` of every workspace root and standalone project."""
    tree = as_tree(source)
    pyprojects = _pyprojects(tree)
    located = set(pyprojects)
    members: set[str] = set()
    roots: list[str] = []
    for path in sorted(pyprojects, key=lambda p: p.count("/")):
        if dirname(path) in members:
            continue  # uv workspaces do not nest: a member is no workspace root
        workspace = _maybe_workspace(tree, path)
        if workspace is None:
            continue
        roots.append(dirname(path))
        present, missing = _members(tree, dirname(path), workspace)
        members |= present | missing
        located.update(manifest_path(d, MANIFEST) for d in present | missing)
    owners = set(roots) | {dirname(p) for p in pyprojects if dirname(p) not in members}
    located.update(manifest_path(d, name) for d in owners for name in (LOCK, UV_TOML))
    located.update(tree.manifests().scripts())  # PEP 723 scripts: read, so keyed by content
    return sorted(located)


def _requirements(project: _Project, out: Collector) -> Iterator[_Requirement]:
    loaded = project.loaded
    section = table(project.data, "project")
    if section is None:
        return
    dynamic = project.dynamic
    if "dependencies" not in dynamic:
        yield from _requirement_list(loaded, out, section, "dependencies", "normal", "")
    if "optional-dependencies" not in dynamic:
        extras = table(section, "optional-dependencies")
        if extras is None:
            out.error_at_key(loaded, "optional-dependencies", "must be a table of arrays")
        else:
            for extra in extras:
                project.features.setdefault(normalize(extra), [])
                yield from _requirement_list(loaded, out, extras, extra, "normal", extra)
    yield from _dependency_groups(project, out)
    uv = _uv(project.data)
    if "dev-dependencies" in uv:
        project.features.setdefault("group:dev", [])
    yield from _requirement_list(loaded, out, uv, "dev-dependencies", "dev", "group:dev")
    build = table(project.data, "build-system") or {}
    yield from _requirement_list(loaded, out, build, "requires", "build", "")


def _requirement_list(
    loaded: Loaded, out: Collector, owner: dict[str, Any], key: str, kind: EdgeKind, feature: str
) -> Iterator[_Requirement]:
    values = str_list(owner.get(key, []))
    if values is None:
        out.error_at_key(loaded, key, f"{key} must be an array of requirement strings")
        return
    for value in values:
        yield _Requirement(value, kind, normalize(feature), key)


def _dependency_groups(project: _Project, out: Collector) -> Iterator[_Requirement]:
    loaded = project.loaded
    groups = table(project.data, "dependency-groups")
    if groups is None:
        out.error_at_key(loaded, "dependency-groups", "[dependency-groups] must be a table")
        return
    known = {normalize(group) for group in groups}
    for group, entries in groups.items():
        feature = f"group:{normalize(group)}"
        values = project.features.setdefault(feature, [])
        if not isinstance(entries, list):
            out.error_at_key(loaded, group, f"dependency group {group!r} must be an array")
            continue
        for entry in entries:
            if isinstance(entry, str):
                yield _Requirement(entry, "dev", feature, group)
            elif _valid_include(entry, known):
                values.append(f"group:{normalize(entry['include-group'])}")
            else:
                message = f"dependency group {group!r}: invalid entry {entry!r}"
                out.error_at_key(loaded, group, message)


def _valid_include(entry: object, known: set[str]) -> bool:
    if not isinstance(entry, dict) or set(entry) != {"include-group"}:
        return False
    target = entry["include-group"]
    return isinstance(target, str) and normalize(target) in known


def _dep_key(feature: str, target: str) -> str:
    """The unique ``Edge.dep`` of an extra's or group's requirement (``extra:x:name``)."""
    if not feature:
        return ""
    if feature.startswith("group:"):
        return f"{feature}:{target}"
    return f"extra:{feature}:{target}"


class _LockPackage(NamedTuple):
    name: str
    directory: str
    line: int
    entry: dict[str, Any]
    source: str  # as the lock writes it: relative to the lock's directory


class _Locals(NamedTuple):
    """The local packages of one lock whose project is a component."""

    by_name: dict[str, _Project]
    by_source: dict[str, _Project]

    def find(self, item: dict[str, Any]) -> _Project | None:
        """The project a dependency entry names: by its source when it gives one (two local
        packages of one name, as per-marker sources make), else by its name."""
        source = _local_source(item.get("source")) or _local_source(item)
        if source is None and ("git" in item or "url" in item):
            return None  # a requirement as read (``[package.metadata]``) with a remote source
        found = self.by_source.get(source) if source is not None else None
        return found or self.by_name.get(normalize(item["name"]))


class _Parser:
    def __init__(self, tree: Tree, manifests: list[str]) -> None:
        self.tree = tree
        self.manifests = manifests
        self.out = Collector(manifests)
        self.projects: dict[str, _Project] = {}
        self.workspaces: dict[str, Loaded] = {}  # root directory -> root manifest
        self.member_of: dict[str, str] = {}  # member directory -> workspace root directory
        self.by_key: dict[str, list[str]] = {}  # normalized name -> project directories
        self.edges: list[Edge] = []
        self.virtual_sources: dict[str, dict[str, list[_Source]]] = {}  # of roots without [project]
        self.overrides: dict[str, dict[str, list[str]]] = {}  # root directory -> name -> targets
        self.locks: dict[str, _ReadLock] = {}  # root directory -> its uv.lock, as read
        self.scripts: dict[str, list[str]] = {}  # PEP 723 script -> files it reads elsewhere

    def run(self) -> Discovery:
        loaded = self._load_all()
        self._workspaces(loaded)
        for directory in sorted(loaded):
            self._project(directory, loaded[directory])
        for directory in sorted(self.projects):
            self._component(self.projects[directory])
        for directory in sorted(self.projects):
            self._edges(self.projects[directory])
        self._lockfiles()
        self._scripts()
        self._check_truncated()
        result = self.out.finish()
        result.components = [self._with_reads(self._with_features(c)) for c in result.components]
        result.edges = sorted(dict.fromkeys(self.edges))
        narrowed = {c.directory or "" for c in result.components if c.paths}
        for root in sorted(set(self.workspaces) | narrowed):
            result.global_inputs.append(manifest_path(root, MANIFEST))
            for name in (LOCK, UV_TOML):
                if self.tree.is_file(manifest_path(root, name)):
                    result.global_inputs.append(manifest_path(root, name))
        return result

    # --- reading -----------------------------------------------------------------------------

    def _load_all(self) -> dict[str, Loaded]:
        loaded: dict[str, Loaded] = {}
        for path in self.manifests:
            if posixpath.basename(path) != MANIFEST:
                continue
            if not self.tree.exists(path):
                continue  # an expected member manifest (reported by the workspace check)
            loaded[dirname(path)] = load_toml(self.tree, path)
        return loaded

    def _workspaces(self, loaded: dict[str, Loaded]) -> None:
        for directory, root in sorted(loaded.items(), key=lambda item: item[0].count("/")):
            workspace = _workspace_table(root.data) if root.data is not None else None
            if workspace is None:
                continue
            if directory in self.member_of:  # uv refuses nested workspaces too
                message = f"nested workspace: {directory!r} is a member of another workspace"
                self.out.error_at_key(root, "workspace", message)
                continue
            self.workspaces[directory] = root
            for key in ("members", "exclude"):
                if _patterns(workspace, key) is None:
                    message = f"[tool.uv.workspace].{key} must be an array"
                    self.out.error_at_key(root, key, message)
            for key in ("members", "exclude"):
                for message in member_glob_problems(_patterns(workspace, key) or []):
                    self.out.error_at_key(root, key, message)
            present, missing = _members(self.tree, directory, workspace)
            for member in sorted(present):
                self.member_of.setdefault(member, directory)
            for member in sorted(missing):
                message = f"workspace member {member or '.'!r} has no {MANIFEST}"
                self.out.error_at_key(root, "members", message)

    def _project(self, directory: str, loaded: Loaded) -> None:
        workspace = self.member_of.get(directory)
        if loaded.data is None:
            if loaded.error is not None:
                self.out.result.errors.append(loaded.error)
            if workspace is not None or _PROJECT_NAME.search(loaded.text):
                self.projects[directory] = _Project(directory, loaded, workspace)
            return
        has_project = "project" in loaded.data
        if has_project or (workspace is not None and directory not in self.workspaces):
            self.projects[directory] = _Project(directory, loaded, workspace)

    def _component(self, project: _Project) -> None:
        loaded = project.loaded
        name = self._project_name(project)
        key = normalize(name)
        for other in self.by_key.get(key, []):
            first = self.projects[other]
            if first.name != name:
                message = f"duplicate project name {name!r} (normalizes like {first.name!r})"
                self.out.error_at_key(loaded, "name", message)
                return
        component = Component(
            name,
            "python",
            directory=project.directory,
            manifest=loaded.path,
            paths=self._owned_paths(project, name),
            reads=self._reads(project),
        )
        if self.out.component(component, loaded):
            project.name = name
            self.by_key.setdefault(key, []).append(project.directory)
            if loaded.data is not None:
                project.sources = self._sources(loaded, project.directory)

    def _owned_paths(self, project: _Project, name: str) -> tuple[str, ...]:
        """A workspace root, or a root project with other projects below it, owns only its own
        sources (see ``owned_paths``); other projects own their directory."""
        nested = project.directory == "" and len(self.projects) > 1
        if project.directory not in self.workspaces and not nested:
            return ()
        others = frozenset(d for d in self.projects if d != project.directory)
        return owned_paths(project.directory, project.data, name, others)

    def _reads(self, project: _Project) -> tuple[str, ...]:
        """What a project's build takes from outside its directory: the paths its build
        configuration names there (hatch ``force-include`` sources, packages, setuptools
        ``package-dir``, maturin ``python-source``, its readme or licence file ...)."""
        directory = project.directory
        if not directory or project.loaded.data is None:
            return ()
        reads: list[str] = []
        for path in sorted(_build_paths(project.loaded.data)):
            joined = join_dir(directory, path.replace("\\", "/").rstrip("/"))
            if joined is None or joined == directory or joined.startswith(f"{directory}/"):
                continue  # outside the repository, or its own
            literal = literal_glob(joined) if joined else ""
            if not joined or self.tree.is_dir(joined):
                reads.append(f"{literal}/**" if literal else "**")
            else:
                reads.append(literal)
        return tuple(dict.fromkeys(reads))

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
        return posixpath.basename(project.directory) or repo_name(self.tree)

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
            result[normalize(name)] = [_Source(base, entry, loaded) for entry in entries]
        return result

    def _root_sources(self, project: _Project) -> dict[str, list[_Source]]:
        if project.workspace is None or project.workspace == project.directory:
            return {}
        return self._workspace_sources(project.workspace)

    def _workspace_sources(self, directory: str) -> dict[str, list[_Source]]:
        root = self.projects.get(directory)
        if root is not None:
            return root.sources
        found = self.virtual_sources.get(directory)
        if found is None:
            loaded = self.workspaces.get(directory)
            found = self._sources(loaded, directory) if loaded is not None else {}
            self.virtual_sources[directory] = found
        return found

    def _overrides(self, project: _Project) -> dict[str, list[str]]:
        """Names the workspace root's (or a standalone project's) ``override-dependencies`` and
        ``constraint-dependencies`` point at a local project, with those projects. uv applies
        them to every requirement of that name, a member's own source or a third-party
        package's requirement included, and resolves them with the root's sources."""
        root = project.workspace if project.workspace is not None else project.directory
        found = self.overrides.get(root)
        if found is None:
            found = self.overrides[root] = self._read_overrides(root)
        return found

    def _read_overrides(self, root: str) -> dict[str, list[str]]:
        owner = self.projects.get(root)
        loaded = owner.loaded if owner is not None else self.workspaces.get(root)
        if loaded is None or loaded.data is None:
            return {}
        context = owner if owner is not None else _Project(root, loaded, root)
        sources = self._workspace_sources(root)
        uv = _uv(loaded.data)
        found: dict[str, list[str]] = {}
        for key in ("override-dependencies", "constraint-dependencies"):
            for text in self._override_entries(loaded, uv, key):
                try:
                    parsed = parse_requirement(text)
                except InvalidRequirement as exc:
                    line = line_of_text(loaded.text, text) or line_of_key(loaded.text, key)
                    self.out.error(
                        loaded.path, line, f"invalid requirement {text!r} in {key}: {exc}"
                    )
                    continue
                if parsed.url is not None and parsed.url.startswith("file:"):
                    targets = [self._from_file_url(context, parsed.url, text)]
                elif parsed.url is None and parsed.key in sources:
                    targets = [
                        self._from_source(s, parsed.key, context) for s in sources[parsed.key]
                    ]
                else:
                    continue  # a registry, git or remote URL package
                found.setdefault(parsed.key, []).extend(t for t in targets if t is not None)
        return found

    def _override_entries(self, loaded: Loaded, uv: dict[str, Any], key: str) -> list[str]:
        values = str_list(uv.get(key, []))
        if values is None:
            self.out.error_at_key(loaded, key, f"[tool.uv] {key} must be an array of strings")
            return []
        return values

    def _unlocked_overrides(self, project: _Project) -> None:
        """A project no lock records depends on every local project an override or constraint
        names: which of its third-party dependencies require that name only a lock says."""
        if project.locked or project.name is None or project.loaded.data is None:
            return
        for targets in self._overrides(project).values():
            for target in targets:
                if target != project.name:
                    self._add(project, target, "normal", "", f"override:{target}", ())

    # --- edges -------------------------------------------------------------------------------

    def _edges(self, project: _Project) -> None:
        if project.loaded.data is None or project.name is None:
            return
        root_sources = self._root_sources(project)
        for requirement in _requirements(project, self.out):
            self._requirement_edges(project, requirement, root_sources)

    def _requirement_edges(
        self, project: _Project, requirement: _Requirement, root_sources: dict[str, list[_Source]]
    ) -> None:
        assert project.name is not None
        try:
            parsed = parse_requirement(requirement.text)
        except InvalidRequirement as exc:
            line = line_of_text(project.loaded.text, requirement.text) or line_of_key(
                project.loaded.text, requirement.where
            )
            message = f"invalid requirement {requirement.text!r} in {requirement.where}: {exc}"
            self.out.error(project.loaded.path, line, message)
            return
        extras = tuple(normalize(extra) for extra in parsed.extras)
        overridden = self._overrides(project).get(parsed.key, [])
        errors = len(self.out.result.errors)
        targets = self._targets(project, parsed, requirement.text, root_sources)
        if not overridden and None in targets and len(self.out.result.errors) == errors:
            self._third_party(project, requirement, parsed)  # not an unresolved local source
        feature = requirement.feature
        for target in dict.fromkeys(t for t in [*targets, *overridden] if t is not None):
            if target == project.name:  # `pkg[a]` inside pkg itself: a reference to its extras
                if feature:
                    project.features.setdefault(feature, []).extend(extras)
                elif extras:  # always installed: a self-edge turns them on whenever pkg is built
                    self.edges.append(
                        Edge(project.name, target, requirement.kind, False, "", extras)
                    )
                continue
            self._add(project, target, requirement.kind, feature, _dep_key(feature, target), extras)

    def _targets(
        self,
        project: _Project,
        parsed: Requirement,
        text: str,
        root_sources: dict[str, list[_Source]],
    ) -> list[str | None]:
        """The project each way of installing a requirement lands on (one per source); None
        for a package from outside the repository (a registry, git, a URL) or an archive."""
        sources = project.sources.get(parsed.key) or root_sources.get(parsed.key)
        if parsed.url is not None and parsed.url.startswith("file:"):
            return [self._from_file_url(project, parsed.url, text)]
        if sources is None:
            return [self._by_name(parsed.key, project)]
        return [self._from_source(source, parsed.key, project) for source in sources]

    def _third_party(
        self, project: _Project, requirement: _Requirement, parsed: Requirement
    ) -> None:
        """Note a requirement installed (in some case) from outside the projects: what that
        package requires in turn only a lock records. Build requirements are not locked."""
        if requirement.kind == "build":
            return
        line = _requirement_line(project.loaded.text, requirement)
        feature = requirement.feature
        extra = re.search(_EXTRA_MARKER, parsed.marker) if not feature else None
        extras = tuple(sorted(normalize(e) for e in parsed.extras))
        project.third_party.append(
            _ThirdParty(
                line,
                requirement.text,
                parsed.key,
                normalize(extra.group(1)) if extra else feature,
                extras,
            )
        )

    def _add(
        self,
        project: _Project,
        target: str,
        kind: EdgeKind,
        feature: str,
        dep: str,
        extras: tuple[str, ...],
    ) -> None:
        assert project.name is not None
        optional = bool(feature)
        if optional:
            project.features.setdefault(feature, []).append(f"dep:{dep}")
        self.edges.append(Edge(project.name, target, kind, optional, dep, extras, False))

    def _by_name(self, key: str, project: _Project) -> str | None:
        """A requirement without a source: a project of the same workspace with that name."""
        for directory in self.by_key.get(key, []):
            other = self.projects[directory]
            if project.workspace is not None and other.workspace == project.workspace:
                return other.name
        return None

    def _from_source(self, source: _Source, key: str, project: _Project) -> str | None:
        if source.spec.get("workspace") is True:
            found = self._by_name(key, project)
            if found is None:  # uv would refuse; any project of that name, else a reason code
                found = next((self._member(d) for d in self.by_key.get(key, [])), None)
            if found is None:
                self._unresolved(source, key, f"workspace source {key!r} is no workspace member")
            return found
        path = source.spec.get("path")
        if not isinstance(path, str):
            return None  # git, url and index sources lie outside the repository
        directory = self._source_directory(source.base, path)
        if directory is None:
            return None
        found = self._member(directory)
        if found is None and self.tree.is_file(directory):
            project.files.add(directory)
        elif found is None:
            self._unresolved(source, key, f"path source {path!r} of {key!r} is no project")
        return found

    def _source_directory(self, base: str, path: str) -> str | None:
        """The repository-relative directory a ``path`` source names; None outside the tree."""
        if path.startswith("/") or path[1:2] == ":":
            return self.tree.resolve(path)
        joined = join_dir(base, path)
        if joined is None:
            return None
        inside = self.tree.resolve(joined)
        return joined if inside is None else inside  # a link out of the tree: no project there

    def _from_file_url(self, project: _Project, url: str, text: str) -> str | None:
        """``pkg @ file:///abs/path`` or ``file:../rel`` (``${PROJECT_ROOT}`` expanded): the project
        there, or None outside the repository; a place in it without a project is unresolved."""
        path = _file_url_path(url) if url.startswith("file://") else url.removeprefix("file:")
        root = posixpath.join(self.tree.root, project.directory)
        path = path.replace("${PROJECT_ROOT}", root.rstrip("/") or "/")
        directory = self._source_directory(project.directory, path)
        if directory is None:
            return None
        found = self._member(directory)
        if found is None and self.tree.is_file(directory):
            project.files.add(directory)
        elif found is None:
            line = line_of_text(project.loaded.text, text)
            message = f"requirement {text!r} points at {directory or '.'!r}, where no project is"
            self.out.result.errors.append(
                ManifestError(project.loaded.path, line, message, reason="unresolved-dependency")
            )
        return found

    def _unresolved(self, source: _Source, key: str, message: str) -> None:
        loaded = source.manifest
        line = line_of_key(loaded.text, key, section=("tool", "uv", "sources")) or line_of_key(
            loaded.text, "sources"
        )
        self.out.result.errors.append(
            ManifestError(loaded.path, line, message, reason="unresolved-dependency")
        )

    def _member(self, directory: str | None) -> str | None:
        project = self.projects.get(directory) if directory is not None else None
        return project.name if project is not None else None

    # --- uv.lock -------------------------------------------------------------------------------

    def _lockfiles(self) -> None:
        owners = {
            p.workspace if p.workspace is not None else p.directory for p in self.projects.values()
        }
        unlocked: list[str] = []
        for directory in sorted(owners | set(self.workspaces)):
            self._uv_toml(directory)
            path = manifest_path(directory, LOCK)
            if path in self.manifests and self.tree.is_file(path):
                self._lockfile(directory, load_toml(self.tree, path))
            else:
                unlocked.append(directory)
        for project in self.projects.values():
            self._check_dynamic(project)
            self._unlocked_overrides(project)
        by_name = {p.name: p for p in self.projects.values() if p.name is not None}
        outgoing: dict[str, list[str]] = {}
        for edge in self.edges:
            if edge.kind != "build":  # resolved apart, and not locked
                outgoing.setdefault(edge.source, []).append(edge.target)
        for directory in unlocked:
            self._check_unlocked(directory, by_name, outgoing)
        for directory, lock in sorted(self.locks.items()):
            self._check_stale(directory, lock, _resolution(directory, by_name, outgoing))

    def _lockfile(self, directory: str, lock: Loaded) -> None:
        if lock.data is None:
            if lock.error is not None:
                self.out.result.errors.append(lock.error)
            return
        packages = self._lock_packages(directory, lock)
        self.locks[directory] = _ReadLock(lock, {p.directory: p.entry for p in packages})
        named = [(p, self.projects.get(p.directory)) for p in packages]
        local = _Locals(
            {p.name: project for p, project in named if project and project.name},
            {p.source: project for p, project in named if project and project.name},
        )
        self._lock_gaps(directory, lock.path, packages, local)
        view = _LockView(
            local,
            self._present_edges(),
            _archive_closure(lock.data, self._lock_archives(directory, lock)),
            _third_party_reach(lock.data, local),
        )
        for package in packages:
            project = self.projects.get(package.directory)
            if project is not None and project.name is None:
                continue  # a manifest lanes could not take (its error is reported)
            if project is None:
                message = (
                    f"uv.lock lists {package.name!r} at {package.directory or '.'!r}, "
                    f"where no {MANIFEST} project is"
                )
                self.out.result.errors.append(
                    ManifestError(lock.path, package.line, message, reason="unresolved-dependency")
                )
                continue
            self._locked_package(project, package.entry, view)

    def _locked_package(self, project: _Project, entry: dict[str, Any], view: _LockView) -> None:
        """What the lock records for ``project``: extras, edges the manifest lacks, archives it
        installs, members its third-party dependencies require."""
        project.locked = True
        metadata = table(entry, "metadata") or {}
        for extra in str_list(metadata.get("provides-extras", [])) or []:
            project.features.setdefault(normalize(extra), [])
        for target, kind, feature, extras in _lock_edges(entry, view.local):
            self._lock_edge(project, target, kind, feature, extras, view.present)
        for dependency in _lock_dependencies(entry):
            name = normalize(dependency.item["name"])
            project.files.update(view.archives.get(name, ()))
            for directory, extras in sorted(view.reach.get(name, {}).items()):
                self._via_edge(project, self.projects[directory], dependency, name, extras, view)

    def _via_edge(
        self,
        project: _Project,
        target: _Project,
        dependency: _LockDependency,
        through: str,
        extras: tuple[str, ...],
        view: _LockView,
    ) -> None:
        """``project`` needs ``target`` because its third-party dependency ``through`` requires
        it (uv resolves that requirement to the local package)."""
        assert project.name is not None and target.name is not None
        kind, feature = dependency.kind, dependency.feature
        required = (project.name, target.name, kind, False)
        if target is project or required in view.present:
            return
        if feature and (*required[:3], True) in view.present:
            return
        view.present.add((project.name, target.name, kind, bool(feature)))
        dep = f"{_VIA}{through}:{_dep_key(feature, target.name) or target.name}"
        self._add(project, target.name, kind, feature, dep, extras)

    def _lock_gaps(
        self,
        directory: str,
        lock: str,
        packages: list[_LockPackage],
        local: _Locals,
    ) -> None:
        """Projects the lock at ``directory`` owns and does not list, and their manifest edges
        its entries do not record (before the lock's own edges are added)."""
        entries = {p.directory: p.entry for p in packages}
        owned = [
            p
            for p in self.projects.values()
            if p.name is not None
            and p.loaded.data is not None
            and (p.workspace == directory or (p.workspace is None and p.directory == directory))
        ]
        gaps: list[LockGap] = []
        for project in sorted(owned, key=lambda p: p.directory):
            assert project.name is not None
            entry = entries.get(project.directory)
            if entry is None:
                gaps.append(LockGap(lock, project.name))
                continue
            # What uv resolved, not ``[package.metadata]`` (the requirements as read when locking).
            resolved = {key: value for key, value in entry.items() if key != "metadata"}
            recorded = {
                (t.name, kind, feature) for t, kind, feature, _ in _lock_edges(resolved, local)
            }
            for edge in self.edges:
                if edge.source != project.name or edge.lockfile_only or edge.kind == "build":
                    continue
                if edge.target == edge.source or edge.dep.startswith((_VIA, "override:")):
                    continue  # `pkg[x]` in pkg's own dependencies: uv records what x requires;
                    # an edge through a third-party package: the lock is its record
                field = "optional-dependencies" if edge.optional else "dependencies"
                if edge.kind == "normal" and field in project.dynamic:
                    continue  # the lock is the only record of these
                if (edge.target, edge.kind, _edge_feature(edge)) not in recorded:
                    gaps.append(LockGap(lock, edge.source, edge.target, edge.kind))
        self.out.result.lock_gaps += sorted(set(gaps))

    def _present_edges(self) -> set[tuple[str, str, str, bool]]:
        """(source, target, kind, optional) of every edge so far; an extra's edge counts as
        required too when a self-reference (``pkg[x]`` in pkg's dependencies) always installs
        the extra, as uv's lock records it."""
        present: set[tuple[str, str, str, bool]] = {
            (e.source, e.target, e.kind, e.optional) for e in self.edges
        }
        always: dict[str, set[str]] = {}
        for edge in self.edges:
            if edge.source == edge.target and not edge.optional:
                always.setdefault(edge.source, set()).update(edge.features)
        for source, extras in always.items():
            on = _extras_closure(self._features_of(source), extras)
            for edge in self.edges:
                if edge.source == source and _edge_feature(edge) in on:
                    present.add((source, edge.target, edge.kind, False))
        return present

    def _features_of(self, name: str) -> dict[str, list[str]]:
        for directory in self.by_key.get(normalize(name), []):
            if self.projects[directory].name == name:
                return self.projects[directory].features
        return {}

    def _lock_archives(self, directory: str, lock: Loaded) -> dict[str, list[str]]:
        """Packages the lock at ``directory`` installs from archives in the repository: a path
        source (``source = { path = ... }``), or a ``find-links`` directory or flat index in
        the repository (``source = { registry = "wheels" }``, its ``wheels`` and ``sdist``
        paths relative to it): normalized name -> repository-relative files."""
        assert lock.data is not None
        found: dict[str, list[str]] = {}
        entries = lock.data.get("package", [])
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry.get("name"), str):
                continue
            paths: list[str | None] = []
            path = _dig(entry, "source", "path")
            if isinstance(path, str):
                paths.append(self._source_directory(directory, path))
            registry = self._local_registry(directory, _dig(entry, "source", "registry"))
            if registry is not None:
                wheels = entry.get("wheels")
                items = [*(wheels if isinstance(wheels, list) else []), entry.get("sdist")]
                for item in items:
                    file = _dig(item, "path")
                    if isinstance(file, str):
                        paths.append(join_dir(registry, file))
            files = [f for f in paths if f is not None and self.tree.is_file(f)]
            if files:
                found.setdefault(normalize(entry["name"]), []).extend(files)
        return found

    def _local_registry(self, directory: str, registry: object) -> str | None:
        """The repository-relative directory of a lock's ``registry`` source, if it is a
        directory (``find-links``, a flat index) in the repository; None for a URL."""
        path = _local_path(registry) if isinstance(registry, str) else None
        if path is None:
            return None
        found = self._source_directory(directory, path)
        return found if found is not None and self.tree.is_dir(found) else None

    def _lock_packages(self, directory: str, lock: Loaded) -> list[_LockPackage]:
        assert lock.data is not None
        entries = lock.data.get("package", [])
        found: list[_LockPackage] = []
        if not isinstance(entries, list):
            self.out.error_at_key(lock, "package", "[[package]] must be an array of tables")
            return found
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                continue
            source = entry.get("source")
            local = _local_source(source)
            if local is None:
                continue
            package_dir = self._source_directory(directory, local)
            if package_dir is None:
                continue
            line = _package_line(lock.text, entry["name"])
            found.append(_LockPackage(normalize(entry["name"]), package_dir, line, entry, local))
        return found

    def _lock_edge(
        self,
        project: _Project,
        target: _Project,
        kind: EdgeKind,
        feature: str,
        extras: tuple[str, ...],
        present: set[tuple[str, str, str, bool]],
    ) -> None:
        """Add what the lock says ``project`` needs and its manifest does not state: the edges of
        dynamic fields as they are, any other with a ``lockfile-edge:`` key."""
        assert project.name is not None and target.name is not None
        if target is project:
            return
        required = (project.name, target.name, kind, False)
        if required in present or (feature and (*required[:3], True) in present):
            return
        present.add((project.name, target.name, kind, bool(feature)))
        dep = _dep_key(feature, target.name)
        field = "dependencies" if not feature else "optional-dependencies"
        if kind == "dev" or field not in project.dynamic:
            dep = f"{LOCKFILE_EDGE}{dep or target.name}"
        self._add(project, target.name, kind, feature, dep, extras)

    def _check_dynamic(self, project: _Project) -> None:
        if not project.dynamic or project.locked:
            return
        wanted = " and ".join(sorted(project.dynamic))
        message = f"dynamic {wanted}, and no uv.lock records {project.name or project.directory!r}"
        line = line_of_key(project.loaded.text, "dynamic")
        self.out.result.errors.append(
            ManifestError(project.loaded.path, line, message, reason="dynamic-dependencies")
        )

    def _check_unlocked(
        self, root: str, by_name: dict[str, _Project], outgoing: dict[str, list[str]]
    ) -> None:
        """A uv workspace (or uv project) at ``root`` without a ``uv.lock``, whose resolution
        holds two local projects or more and a third-party requirement: uv resolves what that
        package requires by the name of a local project to the project, and only a lock
        records that. The reason names the first such requirement (the root's own first)."""
        if not self._uv_managed(root):
            return
        resolution = _resolution(root, by_name, outgoing)
        if not _lock_matters(resolution):
            return
        for project in _root_first(root, resolution):
            if not project.third_party:
                continue
            line, text = min(project.third_party)[:2]
            lock = manifest_path(root, LOCK)
            message = (
                f"no {lock}: what {text!r} (required by {project.name!r}) requires is unknown, "
                f"and uv resolves a requirement on a project's name to that project"
            )
            self.out.result.errors.append(
                ManifestError(project.loaded.path, line, message, UNLOCKED_DEPENDENCIES, root)
            )
            return

    def _check_stale(self, root: str, lock: _ReadLock, resolution: list[_Project]) -> None:
        """A ``uv.lock`` at ``root`` that predates what its projects now state: a project it
        does not list, a third-party requirement (by name, extra or group, and the extras it
        asks for) its entry's ``[package.metadata]`` does not record, or an override or
        constraint pointing at a local project its ``[manifest]`` does not record. What such
        a package requires is then as unknown as without a lock, so the same conditions as
        ``_check_unlocked`` apply (two local projects or more, a third-party requirement)."""
        if not _lock_matters(resolution):
            return
        stale = self._stale_override(root, lock)
        for project in _root_first(root, resolution):
            if stale is not None:
                break
            stale = _stale_entry(project, lock)
        if stale is not None:
            path, line, what = stale
            message = (
                f"{lock.loaded.path} is stale: {what}; what third-party packages require of "
                f"the local projects is unknown until it is refreshed (run uv lock)"
            )
            self.out.result.errors.append(ManifestError(path, line, message, STALE_LOCKFILE, root))

    def _stale_override(self, root: str, lock: _ReadLock) -> tuple[str, int, str] | None:
        """The first override or constraint of ``root`` pointing at a local project that the
        lock's ``[manifest]`` does not record (uv writes each one there), for a name the lock
        has a package of: an override of a name nothing locked requires changes nothing
        locked, and uv finds the lock fresh (a new requirement on it is stale by itself)."""
        owner = self.projects.get(root)
        loaded = owner.loaded if owner is not None else self.workspaces.get(root)
        if loaded is None or loaded.data is None:
            return None
        local = self._overrides(owner if owner is not None else _Project(root, loaded, root))
        packages = (lock.loaded.data or {}).get("package")
        locked = {
            normalize(entry["name"])
            for entry in (packages if isinstance(packages, list) else [])
            if isinstance(entry, dict) and isinstance(entry.get("name"), str)
        }
        manifest = table(lock.loaded.data or {}, "manifest") or {}
        for key, field in (
            ("override-dependencies", "overrides"),
            ("constraint-dependencies", "constraints"),
        ):
            recorded = manifest.get(field)
            names = {
                normalize(item["name"])
                for item in (recorded if isinstance(recorded, list) else [])
                if isinstance(item, dict) and isinstance(item.get("name"), str)
            }
            for text in str_list(_uv(loaded.data).get(key, [])) or []:
                try:
                    name = parse_requirement(text).key
                except InvalidRequirement:
                    continue  # reported where the overrides are read
                # uv re-locks for it only when it changes a locked package (uv 0.13.9)
                if local.get(name) and name not in names and name in locked:
                    line = line_of_text(loaded.text, text) or line_of_key(loaded.text, key)
                    return loaded.path, line, f"it does not record the {key} entry {text!r}"
        return None

    # --- PEP 723 scripts -----------------------------------------------------------------------

    def _scripts(self) -> None:
        for path in self.manifests:
            if path.endswith(_tree.SCRIPT_SUFFIX):
                self._script(path)

    def _script(self, path: str) -> None:
        """A Python file with a PEP 723 ``script`` block, as ``uv run --script`` installs it:
        a component (named after its path, owning it and its ``<path>.lock``) when it installs
        anything from the repository, with an edge to each project its ``[tool.uv.sources]``
        (``path``, relative to its directory), ``file://`` references, overrides and
        constraints land on, and reading the archives and ``find-links`` directories it
        installs from."""
        try:
            if self.tree.size(path) > _tree.MAX_SCRIPT_BYTES:
                limit = _tree.MAX_SCRIPT_BYTES
                message = f"PEP 723 script larger than {limit} bytes: not read"
                self.out.result.errors.append(ManifestError(path, 0, message))
                return
        except OSError:
            return  # gone from the work tree since git listed it
        text, error = read_text(self.tree, path)
        if text is None:
            if error is not None and self.tree.exists(path):
                self.out.result.errors.append(error)
            return
        block = _script_block(path, text)
        if block is None:
            return  # no block any more (the work tree differs from git's index)
        if isinstance(block, ManifestError):
            self.out.result.errors.append(block)
            return
        loaded = block
        assert loaded.data is not None
        project = _Project(dirname(path), loaded, None)
        project.name = path
        script = _ScriptEdges(self, project)
        requirements = str_list(loaded.data.get("dependencies", []))
        if requirements is None:
            self.out.error_at_key(loaded, "dependencies", "dependencies must be an array")
            requirements = []
        for requirement in requirements:
            script.requirement(requirement, "dependencies")
        uv = _uv(loaded.data)
        for key in ("override-dependencies", "constraint-dependencies"):
            for requirement in self._override_entries(loaded, uv, key):
                script.requirement(requirement, key, override=True)
        for entry in str_list(uv.get("find-links", [])) or []:
            script.find_links(entry)
        if not script.local:
            return  # installs nothing from the repository: a file like any other
        component = Component(
            path,
            "python",
            manifest=path,
            paths=(literal_glob(path), literal_glob(f"{path}.lock")),
        )
        if not self.out.component(component, loaded):
            return
        self.scripts[path] = sorted(project.files | script.reads)
        for target, extras in script.targets:
            self.edges.append(Edge(path, target, "normal", False, "", extras))

    def _uv_toml(self, root: str) -> None:
        """The ``uv.toml`` beside a root's manifest, which uv reads as that workspace's (or
        project's) configuration: it must parse, and hold none of the fields uv refuses there
        (``sources`` among them: uv fails on the file). Its ``override-dependencies`` and
        ``constraint-dependencies`` are not applied by ``uv lock`` (only by ``uv pip``); what
        its ``find-links`` and indexes install from the repository the lock records."""
        path = manifest_path(root, UV_TOML)
        if path not in self.manifests or not self.tree.is_file(path):
            return
        loaded = load_toml(self.tree, path)
        if loaded.data is None:
            if loaded.error is not None:
                self.out.result.errors.append(loaded.error)
            return
        for key in _PROJECT_ONLY:
            if key in loaded.data:
                message = f"uv refuses {key!r} in a uv.toml (it belongs in [tool.uv] of {MANIFEST})"
                self.out.error_at_key(loaded, key, message)

    def _uv_managed(self, root: str) -> bool:
        """A workspace root, a project with a ``[tool.uv]`` table (sources among them), or one
        with a ``uv.toml`` beside it."""
        if root in self.workspaces or self.tree.is_file(manifest_path(root, UV_TOML)):
            return True
        project = self.projects.get(root)
        return project is not None and _has_uv_table(project.data)

    def _check_truncated(self) -> None:
        if self.tree.manifests().truncated:
            message = f"stopped looking for projects after {_tree.MAX_DIRECTORIES} directories"
            error = ManifestError(".", 0, message, reason="discovery-truncated")
            self.out.result.errors.append(error)

    def _with_reads(self, component: Component) -> Component:
        """``component`` reading the archives (wheels, sdists) its path sources install."""
        if component.name in self.scripts and component.directory is None:
            reads = tuple(
                f"{literal_glob(f)}/**" if self.tree.is_dir(f) else literal_glob(f)
                for f in self.scripts[component.name]
            )
            return component._replace(reads=reads)
        project = self.projects.get(component.directory or "")
        if project is None or not project.files:
            return component
        own = f"{project.directory}/" if project.directory else None
        files = [f for f in sorted(project.files) if own is None or not f.startswith(own)]
        reads = (*component.reads, *(literal_glob(f) for f in files))
        return component._replace(reads=tuple(dict.fromkeys(reads)))

    def _with_features(self, component: Component) -> Component:
        project = self.projects.get(component.directory or "")
        if project is None or not project.features:
            return component
        features = tuple(
            (name, tuple(dict.fromkeys(values)))
            for name, values in sorted(project.features.items())
        )
        return component._replace(features=features)


def _file_url_path(url: str) -> str:
    """The path of a ``file://`` URL (``localhost``, the one host it may name, dropped: RFC
    8089)."""
    path = url[len("file://") :]
    return path.removeprefix("localhost") if path.startswith("localhost/") else path


def _local_path(location: str) -> str | None:
    """The path a local location names: a ``file://`` URL's, or a plain path as it is; None for
    any other URL."""
    if location.startswith("file://"):
        return _file_url_path(location)
    return None if "://" in location else location


def _script_block(path: str, text: str) -> Loaded | ManifestError | None:
    """The PEP 723 ``script`` block of a Python file as uv reads it: the lines after ``#
    /// script`` that are ``#`` or start with ``# ``, up to the last ``# ///`` among them, as
    TOML. None without an opening line; an error for an unclosed block, a second block or
    invalid TOML. The ``Loaded`` text is the block uncommented in place (every other line
    blank), so lines found in it are the file's."""
    lines = text.splitlines()
    openings = [number for number, line in enumerate(lines) if line == "# /// script"]
    if not openings:
        return None
    if len(openings) > 1:
        message = "the script contains multiple PEP 723 metadata blocks"
        return ManifestError(path, openings[1] + 1, message)
    start = openings[0]
    end = None
    for number in range(start + 1, len(lines)):
        line = lines[number]
        if line != "#" and not line.startswith("# "):
            break
        if line == "# ///":
            end = number
    if end is None:
        message = "a PEP 723 opening tag (# /// script) without a closing tag (# ///)"
        return ManifestError(path, start + 1, message)
    uncommented = [""] * len(lines)
    for number in range(start + 1, end):
        uncommented[number] = lines[number][2:]
    content = "\n".join(uncommented) + "\n"
    parsed = parse_toml(path, content)
    if parsed.data is None:
        return parsed.error or ManifestError(path, start + 1, "invalid PEP 723 block")
    return Loaded(path, content, parsed.data)


class _ScriptEdges:
    """What one PEP 723 script installs from the repository, read requirement by requirement
    (with the parser's project lookups: ``_ScriptEdges.project`` stands for the script)."""

    def __init__(self, parser: _Parser, project: _Project) -> None:
        self.parser = parser
        self.project = project
        self.sources = parser._sources(project.loaded, project.directory)
        self.targets: list[tuple[str, tuple[str, ...]]] = []
        self.reads: set[str] = set()

    @property
    def local(self) -> bool:
        """Whether the script installs anything from the repository (a project, an archive, a
        ``find-links`` directory); what it names there and cannot follow is an error."""
        return bool(self.targets or self.reads or self.project.files)

    def requirement(self, text: str, where: str, *, override: bool = False) -> None:
        parser, loaded = self.parser, self.project.loaded
        line = line_of_text(loaded.text, text) or line_of_key(loaded.text, where)
        try:
            parsed = parse_requirement(text)
        except InvalidRequirement as exc:
            parser.out.error(loaded.path, line, f"invalid requirement {text!r} in {where}: {exc}")
            return
        extras = tuple(normalize(e) for e in parsed.extras)
        if parsed.url is not None and parsed.url.startswith("file:"):
            self._file_url(parsed.url, text, line, extras)
            return
        if parsed.url is not None:
            return  # a remote URL
        for source in self.sources.get(parsed.key, []):
            if source.spec.get("workspace") is True:
                message = f"workspace source {parsed.key!r}: uv refuses it outside a workspace"
                parser._unresolved(source, parsed.key, message)
            elif isinstance(source.spec.get("path"), str):
                target = parser._from_source(source, parsed.key, self.project)
                if target is not None:
                    self.targets.append((target, () if override else extras))
        # without a source: from the registry (a script is in no workspace)

    def _file_url(self, url: str, text: str, line: int, extras: tuple[str, ...]) -> None:
        parser, loaded = self.parser, self.project.loaded
        path = url.removeprefix("file:")
        if "${PROJECT_ROOT}" in path or not path.startswith("//"):
            # uv expands ${PROJECT_ROOT} to the directory it runs in, and refuses a relative URL
            message = f"requirement {text!r}: a file URL uv resolves from its working directory"
            parser.out.result.errors.append(
                ManifestError(loaded.path, line, message, reason="unresolved-dependency")
            )
            return
        target = parser._from_file_url(self.project, url, text)
        if target is not None:
            self.targets.append((target, extras))

    def find_links(self, entry: str) -> None:
        """A ``find-links`` entry naming a directory of the repository: the script installs
        archives from it."""
        path = _local_path(entry)
        if path is None:
            return
        found = self.parser._source_directory(self.project.directory, path)
        if found is not None and self.parser.tree.exists(found):
            self.reads.add(found)


class _ReadLock(NamedTuple):
    """A workspace's (or standalone project's) ``uv.lock``: the file, and the entry of each
    local package by its repository-relative directory."""

    loaded: Loaded
    entries: dict[str, dict[str, Any]]


def _stale_entry(project: _Project, lock: _ReadLock) -> tuple[str, int, str] | None:
    """What of ``project`` the lock does not record (path, line, what), or None."""
    entry = lock.entries.get(project.directory)
    if entry is None:
        line = line_of_key(project.loaded.text, "name", section=("project",))
        where = project.directory or "."
        return project.loaded.path, line, f"it does not list {project.name!r} ({where})"
    metadata = {"metadata": table(entry, "metadata") or {}}  # the requirements as read
    recorded: dict[tuple[str, str], set[str]] = {}
    for dependency in _lock_dependencies(metadata):
        key = (normalize(dependency.item["name"]), dependency.feature)
        recorded.setdefault(key, set()).update(dependency.extras)
    for requirement in sorted(project.third_party):
        extras = recorded.get((requirement.key, requirement.feature))
        if extras is None or not set(requirement.extras) <= extras:
            where = requirement.feature or "dependencies"
            what = f"its entry for {project.name!r} does not record {requirement.text!r} ({where})"
            return project.loaded.path, requirement.line, what
    return None


def _resolution(
    root: str, by_name: dict[str, _Project], outgoing: dict[str, list[str]]
) -> list[_Project]:
    """The local projects uv would lock at ``root``: its workspace members (or the project),
    and every project they reach over ``outgoing`` (name -> names it requires)."""
    pending = [
        name
        for name, p in by_name.items()
        if p.workspace == root or (p.workspace is None and p.directory == root)
    ]
    found = set(pending)
    while pending:
        for target in outgoing.get(pending.pop(), []):
            if target in by_name and target not in found:
                found.add(target)
                pending.append(target)
    return [by_name[name] for name in found]


def _lock_matters(resolution: list[_Project]) -> bool:
    """Whether what third-party packages require can change lanes at this resolution: it holds
    two local projects or more (a third-party package requiring the one project changes no
    lane) and a third-party requirement."""
    return len(resolution) >= 2 and any(p.third_party for p in resolution)


def _root_first(root: str, resolution: list[_Project]) -> list[_Project]:
    """The projects of ``resolution``, the one at ``root`` first, then by directory."""
    return sorted(resolution, key=lambda p: (p.directory != root, p.directory))


def _requirement_line(text: str, requirement: _Requirement) -> int:
    """The line of a requirement string (quoted as TOML writes it), else of its key."""
    for needle in (f'"{requirement.text}"', f"'{requirement.text}'", requirement.text):
        line = line_of_text(text, needle)
        if line:
            return line
    return line_of_key(text, requirement.where)


def _package_line(text: str, name: str) -> int:
    """The line of ``name = "<name>"`` opening a ``[[package]]`` entry of a uv.lock; 0."""
    match = re.search(rf'^\[\[package\]\]\s*\nname = "{re.escape(name)}"', text, re.M)
    return text.count("\n", 0, match.start()) + 2 if match else 0


def _edge_feature(edge: Edge) -> str:
    """The extra or ``group:<name>`` of an edge (its key is ``extra:x:name``, ``group:g:name``,
    either behind ``via:<third-party name>:``)."""
    dep = edge.dep.split(":", 2)[2] if edge.dep.startswith(_VIA) else edge.dep
    if dep.startswith("extra:"):
        return dep.split(":")[1]
    if dep.startswith("group:"):
        return f"group:{dep.split(':')[1]}"
    return ""


def _third_party_reach(
    lock: dict[str, Any], local: _Locals
) -> dict[str, dict[str, tuple[str, ...]]]:
    """Third-party package name -> {project directory: extras} of the local packages it
    requires, directly or through other third-party packages. uv resolves a transitive
    requirement on a workspace member's (or a path package's) name to that package, and an
    override or constraint can point a third-party name at a directory: the lock records it."""
    entries = lock.get("package", [])
    reach: dict[str, dict[str, set[str]]] = {}
    parents: dict[str, set[str]] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        if _local_source(entry.get("source")) is not None:
            continue
        name = normalize(entry["name"])
        for dependency in _lock_dependencies(entry):
            parents.setdefault(normalize(dependency.item["name"]), set()).add(name)
            target = local.find(dependency.item)
            if target is not None:
                found = reach.setdefault(name, {}).setdefault(target.directory, set())
                found.update(dependency.extras)
    pending = list(reach)
    while pending:
        name = pending.pop()
        for parent in parents.get(name, ()):
            merged = reach.setdefault(parent, {})
            changed = False
            for directory, extras in reach[name].items():
                before = merged.get(directory)
                if before is None or not extras <= before:
                    merged.setdefault(directory, set()).update(extras)
                    changed = True
            if changed:
                pending.append(parent)
    return {n: {d: tuple(sorted(e)) for d, e in found.items()} for n, found in reach.items()}


def _archive_closure(lock: dict[str, Any], archives: dict[str, list[str]]) -> dict[str, set[str]]:
    """Name -> the archives in the repository that installing that package installs: its own,
    and those of the third-party packages it requires, transitively (a local package in
    between is a component of its own, reached over edges)."""
    if not archives:
        return {}
    requires: dict[str, set[str]] = {}
    entries = lock.get("package", [])
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        if _local_source(entry.get("source")) is not None:
            continue
        names = requires.setdefault(normalize(entry["name"]), set())
        names.update(normalize(d.item["name"]) for d in _lock_dependencies(entry))
    closure: dict[str, set[str]] = {}
    for start in {*requires, *archives}:
        seen, pending = {start}, [start]
        while pending:
            for name in requires.get(pending.pop(), ()):
                if name not in seen:
                    seen.add(name)
                    pending.append(name)
        files = {f for name in seen for f in archives.get(name, ())}
        if files:
            closure[start] = files
    return closure


def _extras_closure(features: dict[str, list[str]], extras: set[str]) -> set[str]:
    """``extras`` and the extras they turn on in turn (``all = ["pkg[a, b]"]``)."""
    on: set[str] = set()
    pending = list(extras)
    while pending:
        extra = pending.pop()
        if extra in on:
            continue
        on.add(extra)
        pending += [v for v in features.get(extra, []) if not v.startswith("dep:")]
    return on


def _local_source(source: object) -> str | None:
    if not isinstance(source, dict):
        return None
    for key in _LOCAL_SOURCES:
        value = source.get(key)
        if isinstance(value, str):
            return value
    return None


class _LockView(NamedTuple):
    """What reading one lock's packages needs."""

    local: _Locals
    present: set[tuple[str, str, str, bool]]  # edges known: (source, target, kind, optional)
    # name -> archive files in the repository it installs, itself or through the third-party
    # packages it requires
    archives: dict[str, set[str]]
    reach: dict[str, dict[str, tuple[str, ...]]]  # third-party name -> local packages it needs


class _LockDependency(NamedTuple):
    item: dict[str, Any]  # the entry: ``{ name = ..., extra = [...], marker = ... }``
    kind: EdgeKind
    feature: str  # "" for plain dependencies, else the extra or "group:<name>"
    extras: tuple[str, ...]


def _lock_dependencies(entry: dict[str, Any]) -> Iterator[_LockDependency]:
    """Every dependency entry of a lock package: resolved and as read (``[package.metadata]``),
    of every extra and group."""

    def read(
        items: object, kind: EdgeKind, feature: str, extras_key: str
    ) -> Iterator[_LockDependency]:
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                continue
            extras = tuple(normalize(e) for e in str_list(item.get(extras_key, [])) or [])
            marker = item.get("marker")
            extra = (
                re.search(_EXTRA_MARKER, marker)
                if isinstance(marker, str) and not feature
                else None
            )
            yield _LockDependency(
                item, kind, normalize(extra.group(1)) if extra else feature, extras
            )

    yield from read(entry.get("dependencies"), "normal", "", "extra")
    for name, items in (table(entry, "optional-dependencies") or {}).items():
        yield from read(items, "normal", normalize(name), "extra")
    for name, items in (table(entry, "dev-dependencies") or {}).items():
        yield from read(items, "dev", f"group:{normalize(name)}", "extra")
    metadata = table(entry, "metadata") or {}
    yield from read(metadata.get("requires-dist"), "normal", "", "extras")
    for name, items in (table(metadata, "requires-dev") or {}).items():
        yield from read(items, "dev", f"group:{normalize(name)}", "extras")


def _lock_edges(
    entry: dict[str, Any], local: _Locals
) -> Iterator[tuple[_Project, EdgeKind, str, tuple[str, ...]]]:
    """(target, kind, feature, extras) for each dependency of a lock entry on a local package."""
    for dependency in _lock_dependencies(entry):
        target = local.find(dependency.item)
        if target is not None:
            yield target, dependency.kind, dependency.feature, dependency.extras


def _dig(data: object, *keys: str) -> object:
    """``data[k1][k2]...``, or None where a level is missing or not a table."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    return str_list(value) or []


def _import_names(data: dict[str, Any], name: str) -> set[str]:
    """Paths (relative to the project) of its import packages and modules: by its normalized
    name, and as its build configuration (hatch, setuptools, uv, maturin, flit, poetry) says."""
    module = normalize(name).replace("-", "_")
    found = {module, f"src/{module}", f"python/{module}", f"{module}.py", f"src/{module}.py"}
    tool = _dig(data, "tool")
    wheel = _dig(tool, "hatch", "build", "targets", "wheel")
    for key in ("packages", "only-include", "include", "sources"):
        found.update(_strings(_dig(wheel, key)))
    setuptools = _dig(tool, "setuptools")
    for package in _strings(_dig(setuptools, "packages")):
        found.update({package.split(".")[0], f"src/{package.split('.')[0]}"})
    found.update(_strings(_dig(setuptools, "packages", "find", "where")))
    found.update(f"{module_name}.py" for module_name in _strings(_dig(setuptools, "py-modules")))
    package_dir = _dig(setuptools, "package-dir")
    if isinstance(package_dir, dict):
        found.update(v for v in package_dir.values() if isinstance(v, str))
    module_root = _dig(tool, "uv", "build-backend", "module-root")
    root = module_root if isinstance(module_root, str) else "src"
    for module_name in _strings(_dig(tool, "uv", "build-backend", "module-name")):
        found.add(posixpath.join(root, module_name.split(".")[0]))
    found.update(_strings(_dig(tool, "maturin", "python-source")))
    for module_name in _strings(_dig(tool, "flit", "module", "name")):
        found.update({module_name, f"src/{module_name}"})
    poetry = _dig(tool, "poetry", "packages")
    for item in poetry if isinstance(poetry, list) else []:
        include, origin = _dig(item, "include"), _dig(item, "from")
        if isinstance(include, str):
            found.add(posixpath.join(origin if isinstance(origin, str) else "", include))
    cleaned = {normdir(f.strip("/")) for f in found}
    return {f for f in cleaned if f and join_dir("", f) is not None}


def _build_paths(data: dict[str, Any]) -> set[str]:
    """Every path (relative to the project, not cleaned: ``..`` kept) its build configuration
    and metadata name as inputs of its distributions."""
    tool = _dig(data, "tool")
    found: set[str] = set()
    hatch = _dig(tool, "hatch", "build")
    for where in (hatch, *(_dig(hatch, "targets", t) for t in ("wheel", "sdist"))):
        for key in ("packages", "only-include", "sources"):
            found.update(_strings(_dig(where, key)))
        force = _dig(where, "force-include")
        if isinstance(force, dict):
            found.update(k for k in force if isinstance(k, str))
    found.update(_strings(_dig(hatch, "hooks", "custom", "path")))
    setuptools = _dig(tool, "setuptools")
    found.update(_strings(_dig(setuptools, "packages", "find", "where")))
    package_dir = _dig(setuptools, "package-dir")
    if isinstance(package_dir, dict):
        found.update(v for v in package_dir.values() if isinstance(v, str))
    found.update(_strings(_dig(tool, "uv", "build-backend", "module-root")))
    found.update(_strings(_dig(tool, "maturin", "python-source")))
    found.update(posixpath.dirname(m) for m in _strings(_dig(tool, "maturin", "manifest-path")))
    poetry = _dig(tool, "poetry", "packages")
    for item in poetry if isinstance(poetry, list) else []:
        origin = _dig(item, "from")
        if isinstance(origin, str):
            found.add(origin)
    section = table(data, "project") or {}
    readme = section.get("readme")
    found.update(_strings(_dig(readme, "file") if isinstance(readme, dict) else readme))
    found.update(_strings(_dig(section, "license", "file")))
    return {f for f in found if f}  # literal paths all: `literal_glob` escapes what they hold


def _named_files(data: dict[str, Any]) -> set[str]:
    section = table(data, "project") or {}
    found = set(_BUILD_FILES)
    readme = section.get("readme")
    found.update(_strings(_dig(readme, "file") if isinstance(readme, dict) else readme))
    found.update(_strings(_dig(section, "license", "file")))
    found.update(_strings(_dig(data, "tool", "hatch", "build", "hooks", "custom", "path")))
    cleaned = {normdir(f) for f in found}
    return {f for f in cleaned if f and join_dir("", f) is not None}


def owned_paths(
    directory: str, data: dict[str, Any], name: str, projects: frozenset[str] = frozenset()
) -> tuple[str, ...]:
    """What a workspace root project owns: its manifest, its import packages (from its build
    configuration, else by its normalized name under ``src/``, the root or ``python/``), its
    ``tests/`` and the files its build reads (readme, licence, ``setup.py`` ...). Not the whole
    repository: other root-level files stay ``global``, ``ignore`` or ``unmatched``.

    A directory that is another project's (in ``projects``) stays that project's: an explicit
    glob would win over its directory at equal depth."""
    prefix = f"{directory}/" if directory else ""
    trees = {"tests", "test"}
    files = {MANIFEST, *_named_files(data)}
    for path in _import_names(data, name):
        (files if path.endswith(".py") else trees).add(path)
    patterns = {literal_glob(f"{prefix}{path}") for path in files}
    for path in trees:
        if f"{prefix}{path}" not in projects:
            patterns.add(f"{literal_glob(prefix + path)}/**")
            patterns.add(literal_glob(f"{prefix}{path}"))
    return tuple(sorted(patterns))


def parse(source: Source, manifests: list[str]) -> Discovery:
    return _Parser(as_tree(source), manifests).run()
