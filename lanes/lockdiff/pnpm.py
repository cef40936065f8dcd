"""``pnpm-lock.yaml`` (``lockfileVersion`` ``'6.0'`` and ``'9.0'``) as a lock graph.

Members are the ``importers`` (a single-project v6 lock keeps the root importer's fields at the
top level); pnpm records no package names for them, so a member's name is its importer key as
the lock writes it (``.``, ``packages/a``) and its directory that key made repository-relative.
An importer's ``dependencies``, ``devDependencies`` and ``optionalDependencies`` lead to other
importers (``link:<path>``) or to packages: ``packages`` keyed ``/name@version(peers)`` in v6,
``snapshots`` keyed ``name@version(peers)`` in v9 (their resolution and metadata in
``packages`` under the key without the peer suffix); a version may also name an alias's key
directly. Every other top-level entry is a setting (``lockfileVersion``, ``settings``,
``overrides``, ``patchedDependencies``, ``catalogs`` ...).
"""

from __future__ import annotations

from typing import Any

from lanes.discovery._common import join_dir
from lanes.lockdiff._model import (
    LocalPackage,
    LockGraph,
    LockParseError,
    Node,
    canonical,
    decode,
    expect_mapping,
    load_yaml,
    local_dir,
    node_facts,
    split_name,
)

_VERSIONS = ("6.0", "9.0")
_IMPORTER_FIELDS = ("dependencies", "devDependencies", "optionalDependencies")
_SINGLE_PROJECT = (*_IMPORTER_FIELDS, "dependenciesMeta", "specifiers")
_PACKAGE_FIELDS = ("dependencies", "optionalDependencies")
_IMPORTER = "importer:"


def parse(path: str, data: bytes) -> LockGraph:
    doc = expect_mapping(path, load_yaml(path, decode(path, data)), "the lockfile")
    version = str(doc.get("lockfileVersion"))
    if version not in _VERSIONS:
        raise LockParseError(path, f"unsupported pnpm lockfileVersion {version!r}")
    v9 = version == "9.0"
    importers = _importers(path, doc)
    packages = expect_mapping(path, doc.get("packages") or {}, "packages")
    snapshots = expect_mapping(path, doc.get("snapshots") or {}, "snapshots") if v9 else {}
    graph = _Builder(path, v9, importers, packages, snapshots)
    skip = {"importers", "packages", "snapshots"} | (
        set(_SINGLE_PROJECT) if "importers" not in doc else set()
    )
    settings = {key: canonical(value) for key, value in doc.items() if key not in skip}
    return LockGraph(graph.nodes, settings, graph.dangling)


def _importers(path: str, doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    if "importers" not in doc:
        return {".": {key: doc[key] for key in _SINGLE_PROJECT if key in doc}}
    importers = expect_mapping(path, doc["importers"], "importers")
    for key, entry in importers.items():
        expect_mapping(path, entry if entry is not None else {}, f"importer {key!r}")
    return {str(key): entry or {} for key, entry in importers.items()}


class _Builder:
    def __init__(
        self,
        path: str,
        v9: bool,
        importers: dict[str, dict[str, Any]],
        packages: dict[str, Any],
        snapshots: dict[str, Any],
    ) -> None:
        self.path, self.v9 = path, v9
        self.importers, self.packages, self.snapshots = importers, packages, snapshots
        self.nodes: dict[str, Node] = {}
        self.dangling: list[str] = []
        for key, entry in importers.items():
            self._importer(key, entry)
        keyed = snapshots if v9 else packages
        for key, entry in keyed.items():
            self._package(str(key), entry or {})
        for key, entry in packages.items() if v9 else ():
            if str(key) not in self.nodes:  # a package no snapshot uses: still compared
                self._package(str(key), {}, entry or {})

    def _importer(self, key: str, entry: dict[str, Any]) -> None:
        deps: list[str] = []
        specs: dict[str, dict[str, object]] = {}
        for field in _IMPORTER_FIELDS:
            table = expect_mapping(self.path, entry.get(field) or {}, f"{key}: {field}")
            specs[field] = {}
            for name, value in table.items():
                spec = value if isinstance(value, dict) else {"version": value}
                specs[field][name] = spec.get("specifier")
                target = self._resolve(str(name), spec.get("version"), f"importer {key}", key)
                if target is not None:
                    deps.append(target)
        rest = {k: v for k, v in entry.items() if k not in (*_IMPORTER_FIELDS, "specifiers")}
        facts = node_facts(dependencies=specs, **rest)
        local = LocalPackage(key, local_dir(self.path, key))
        self.nodes[_IMPORTER + key] = Node(key, "(importer)", "", facts, tuple(deps), local)

    def _package(self, key: str, entry: object, package: object = None) -> None:
        entry = expect_mapping(self.path, entry, f"package {key!r}")
        base = key.split("(", 1)[0]
        if package is None:
            package = self.packages.get(base, {}) if self.v9 else entry
        package = expect_mapping(self.path, package or {}, f"package {base!r}")
        name, version = split_name(key[1:] if key.startswith("/") else key)
        name, version = str(package.get("name", name)), str(package.get("version", version))
        deps, specs = [], {}
        for field in _PACKAGE_FIELDS:
            table = expect_mapping(self.path, entry.get(field) or {}, f"{key}: {field}")
            specs[field] = sorted(str(dep) for dep in table)
            for dep, value in table.items():
                target = self._resolve(str(dep), value, key, None)
                if target is not None:
                    deps.append(target)
        own = (*_PACKAGE_FIELDS, "resolution")
        rest = {k: v for k, v in {**package, **entry}.items() if k not in own}
        facts = node_facts(checksum=package.get("resolution"), dependencies=specs, **rest)
        self.nodes[key] = Node(name, version, "", facts, tuple(deps), None)

    def _resolve(self, name: str, value: object, owner: str, importer: str | None) -> str | None:
        """The node a dependency's resolved ``value`` names (``None``: an unresolved link)."""
        if not isinstance(value, str):
            self.dangling.append(f"dependency {name} of {owner} has no resolved version")
            return None
        if value.startswith("link:"):
            base = "" if importer in (None, ".") else str(importer)
            target = join_dir(base, value[len("link:") :])
            key = None if target is None else target or "."
            # a link out of the workspace leads to no lock entry: nothing in the lock to reach
            return _IMPORTER + key if key is not None and key in self.importers else None
        keyed = self.snapshots if self.v9 else self.packages
        candidates = (f"{name}@{value}", value) if self.v9 else (f"/{name}@{value}", value)
        for candidate in (*candidates, f"{name}@{value}"):
            if candidate in keyed:
                return candidate
        self.dangling.append(f"dependency {name}@{value} of {owner} is not in the lockfile")
        return None
