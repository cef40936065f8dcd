"""``Cargo.lock`` (versions 1 to 4) as a lock graph.

Members are the packages without a ``source`` (workspace members and path dependencies); the
format records no directory, so they are matched by name. A dependency is written ``name``,
``name version`` or ``name version (source)``: as much as makes it unambiguous (version 1
always writes all three, and keeps checksums in ``[metadata]``). Everything that is not a
``[[package]]`` (``version``, ``[metadata]``, ``[[patch.unused]]``) is a setting.
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
    node_facts,
    package_tables,
)

_VERSIONS = (1, 2, 3, 4)
_CHECKSUM = "checksum "


def parse(path: str, data: bytes) -> LockGraph:
    doc = load_toml(path, data)
    packages = package_tables(path, doc)
    metadata = doc.get("metadata", {})
    if not isinstance(metadata, dict):
        raise LockParseError(path, "[metadata] must be a table")
    version = doc.get("version", 1 if any(k.startswith(_CHECKSUM) for k in metadata) else 2)
    if version not in _VERSIONS:
        raise LockParseError(path, f"unsupported Cargo.lock version {version!r}")
    checksums = {k[len(_CHECKSUM) :]: v for k, v in metadata.items() if k.startswith(_CHECKSUM)}
    entries = [_entry(path, package) for package in packages]
    index = _Index(entries)
    nodes: dict[str, Node] = {}
    dangling: list[str] = []
    for entry in entries:
        ident = _ident(entry)
        deps = []
        for spec in entry["dependencies"]:
            target = index.resolve(spec)
            if target is None:
                dangling.append(f"dependency {spec!r} of {entry['name']} is not in the lockfile")
            else:
                deps.append(target)
        checksum = entry.get("checksum", checksums.get(ident))
        if ident in nodes:
            raise LockParseError(path, f"package {ident!r} is listed twice")
        source = entry.get("source", "")
        local = LocalPackage(entry["name"], None) if not source else None
        rest = {k: v for k, v in entry.items() if k not in _OWN}
        facts = node_facts(
            checksum=checksum,
            dependencies=sorted(spec.split(" ")[0] for spec in entry["dependencies"]),
            **rest,
        )
        nodes[ident] = Node(entry["name"], entry["version"], source, facts, tuple(deps), local)
    settings = {key: canonical(value) for key, value in doc.items() if key != "package"}
    if checksums:
        rest_metadata = {k: v for k, v in metadata.items() if not k.startswith(_CHECKSUM)}
        settings["metadata"] = canonical(rest_metadata)
    return LockGraph(nodes, settings, dangling)


_OWN = ("name", "version", "source", "checksum", "dependencies")


def _entry(path: str, package: dict[str, Any]) -> dict[str, Any]:
    name, version = package.get("name"), package.get("version")
    if not isinstance(name, str) or not isinstance(version, str):
        raise LockParseError(path, f"a [[package]] without name or version: {package!r:.80}")
    deps = package.get("dependencies", [])
    if not isinstance(deps, list) or not all(isinstance(dep, str) for dep in deps):
        raise LockParseError(path, f"dependencies of {name} must be a list of strings")
    source = package.get("source", "")
    if not isinstance(source, str):
        raise LockParseError(path, f"source of {name} must be a string")
    return {**package, "dependencies": deps}


def _ident(entry: dict[str, Any]) -> str:
    source = entry.get("source", "")
    return f"{entry['name']} {entry['version']}" + (f" ({source})" if source else "")


class _Index:
    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self.by_name: dict[str, list[str]] = defaultdict(list)
        self.by_version: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.idents: set[str] = set()
        for entry in entries:
            ident = _ident(entry)
            self.idents.add(ident)
            self.by_name[entry["name"]].append(ident)
            self.by_version[entry["name"], entry["version"]].append(ident)

    def resolve(self, spec: str) -> str | None:
        """The package a dependency spec names; ``None`` when none or several match."""
        parts = spec.split(" ", 2)
        if len(parts) == 3:
            return spec if spec in self.idents else None
        found = self.by_name.get(parts[0], []) if len(parts) == 1 else []
        if len(parts) == 2:
            found = self.by_version.get((parts[0], parts[1]), [])
        return found[0] if len(found) == 1 else None
