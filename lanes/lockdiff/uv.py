"""``uv.lock`` (``version = 1``, any ``revision``) as a lock graph.

Members are the packages with an ``editable``, ``virtual`` or ``directory`` source (directory
relative to the lockfile) and the names in ``[manifest] members``. Edges are ``dependencies``,
every ``[package.optional-dependencies]`` extra and every ``[package.dev-dependencies]`` group:
the lock does not say which extras and groups a build installs, so all count. A dependency
names a package by ``name``, adding ``version`` and ``source`` when several share the name.
Every top-level entry but ``[[package]]`` and the member list is a setting (``revision``,
``requires-python``, ``resolution-markers``, ``[options]``, the rest of ``[manifest]``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from lanes.lockdiff._model import (
    LocalPackage,
    LockGraph,
    LockParseError,
    Node,
    canonical,
    load_toml,
    local_dir,
    node_facts,
    package_tables,
)

_VERSIONS = (1,)
_LOCAL_SOURCES = ("editable", "virtual", "directory")
_DEP_FIELDS = ("dependencies", "optional-dependencies", "dev-dependencies")
_OWN = ("name", "version", "source", "sdist", "wheels", *_DEP_FIELDS)


def parse(path: str, data: bytes) -> LockGraph:
    doc = load_toml(path, data)
    version = doc.get("version")
    if version not in _VERSIONS:
        raise LockParseError(path, f"unsupported uv.lock version {version!r}")
    packages = package_tables(path, doc)
    manifest = doc.get("manifest", {})
    if not isinstance(manifest, dict):
        raise LockParseError(path, "[manifest] must be a table")
    members = set(manifest.get("members", []))
    index = _Index(path, packages)
    nodes: dict[str, Node] = {}
    dangling: list[str] = []
    for package, ident in zip(packages, index.idents, strict=True):
        name = package["name"]
        deps = []
        for spec in _dep_specs(path, package):
            target = index.resolve(spec)
            if target is None:
                dangling.append(f"dependency {canonical(spec)} of {name} is not in the lockfile")
            else:
                deps.append(target)
        if ident in nodes:
            raise LockParseError(path, f"package {ident!r} is listed twice")
        facts = node_facts(
            checksum=[package.get("sdist"), package.get("wheels")],
            dependencies=_dependency_specs(package),
            **{k: v for k, v in package.items() if k not in _OWN},
        )
        local = _local(path, package, members)
        source = _source_text(package.get("source"))
        nodes[ident] = Node(
            name, str(package.get("version", "")), source, facts, tuple(deps), local
        )
    settings = {key: canonical(value) for key, value in doc.items() if key != "package"}
    settings["manifest"] = canonical({k: v for k, v in manifest.items() if k != "members"})
    return LockGraph(nodes, settings, dangling)


def _source_text(source: object) -> str:
    if not isinstance(source, dict):
        return ""
    return ", ".join(f"{key}={value}" for key, value in sorted(source.items()))


def _local(path: str, package: dict[str, Any], members: set[str]) -> LocalPackage | None:
    source = package.get("source")
    directory = None
    is_local = package["name"] in members
    if isinstance(source, dict):
        for kind in _LOCAL_SOURCES:
            if isinstance(source.get(kind), str):
                directory, is_local = local_dir(path, source[kind]), True
    return LocalPackage(package["name"], directory) if is_local else None


def _dep_specs(path: str, package: dict[str, Any]) -> list[dict[str, Any]]:
    specs: list[Any] = list(package.get("dependencies", []))
    for field in _DEP_FIELDS[1:]:
        groups = package.get(field, {})
        if not isinstance(groups, dict):
            raise LockParseError(path, f"{field} of {package['name']} must be a table")
        for group in groups.values():
            specs.extend(group if isinstance(group, list) else [group])
    for spec in specs:
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise LockParseError(path, f"a dependency of {package['name']} has no name")
    return specs


def _dependency_specs(package: dict[str, Any]) -> dict[str, Any]:
    """The dependency lists without the resolved version and source (those are the edges)."""

    def strip(specs: object) -> object:
        if not isinstance(specs, list):
            return specs
        return sorted(
            canonical({k: v for k, v in s.items() if k not in ("version", "source")})
            for s in specs
            if isinstance(s, dict)
        )

    found: dict[str, Any] = {"dependencies": strip(package.get("dependencies", []))}
    for field in _DEP_FIELDS[1:]:
        groups = package.get(field, {})
        found[field] = {group: strip(specs) for group, specs in groups.items()}
    return found


class _Index:
    def __init__(self, path: str, packages: list[dict[str, Any]]) -> None:
        self.idents: list[str] = []
        self.by_name: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        for package in packages:
            name = package.get("name")
            if not isinstance(name, str):
                raise LockParseError(path, f"a [[package]] without a name: {package!r:.80}")
            version = package.get("version", "")
            ident = f"{name} {version} {_source_text(package.get('source'))}"
            self.idents.append(ident)
            self.by_name[name].append((ident, package))

    def resolve(self, spec: dict[str, Any]) -> str | None:
        found = self.by_name.get(spec["name"], [])
        for key in ("version", "source"):
            if len(found) > 1 and key in spec:
                found = [(ident, p) for ident, p in found if p.get(key) == spec[key]]
        return found[0][0] if len(found) == 1 else None
