"""``package-lock.json`` (``lockfileVersion`` 2 and 3) as a lock graph.

Members are the ``packages`` keys outside every ``node_modules`` (``""`` is the root project,
the others workspace or ``file:`` directories); ``"link": true`` entries lead to them. Every
other entry is an installed copy of a package: copies with the same name, version and
``resolved`` are one node (their dependencies joined). A dependency is found as npm finds it:
``<dir>/node_modules/<name>``, then in each parent's ``node_modules``. An optional or peer
dependency may be absent (not installed for this platform, or left to the user); any other
that resolves to nothing is reported. Every top-level entry but ``packages`` (and v2's
``dependencies``, which mirrors it) is a setting.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from lanes.discovery._jslock import npm_lookup
from lanes.lockdiff._model import (
    LocalPackage,
    LockGraph,
    LockParseError,
    Node,
    canonical,
    decode,
    expect_mapping,
    local_dir,
    node_facts,
)

_VERSIONS = (2, 3)
_REQUIRED = ("dependencies", "devDependencies")
_MAY_BE_ABSENT = ("optionalDependencies", "peerDependencies")
_DEP_FIELDS = (*_REQUIRED, *_MAY_BE_ABSENT)
_OWN = ("version", "resolved", "integrity", *_DEP_FIELDS)
_MODULES = "node_modules/"
_LOCAL = "local:"


def parse(path: str, data: bytes) -> LockGraph:
    text = decode(path, data)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LockParseError(path, f"invalid JSON: {exc.msg}", exc.lineno) from None
    doc = expect_mapping(path, doc, "the lockfile")
    format_version = doc.get("lockfileVersion")
    if format_version not in _VERSIONS:
        message = f"unsupported package-lock lockfileVersion {format_version!r}"
        raise LockParseError(path, message)
    packages = expect_mapping(path, doc.get("packages"), "packages")
    copies: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for key, entry in packages.items():
        entry = expect_mapping(path, entry, f"packages[{key!r}]")
        if not _is_local(key) and entry.get("link") is not True:
            copies[_ident(key, entry)].append((key, entry))
    nodes: dict[str, Node] = {}
    dangling: list[str] = []
    for key, entry in packages.items():
        if _is_local(key):
            deps = _deps(path, packages, key, entry, dangling)
            name = str(entry.get("name") or key.rsplit("/", 1)[-1] or "(root)")
            local = LocalPackage(name, local_dir(path, key))
            facts = _facts(entry)
            nodes[_LOCAL + key] = Node(name, str(entry.get("version", "")), "", facts, deps, local)
    for ident, found in copies.items():
        key, entry = found[0]
        deps = tuple(sorted({d for k, e in found for d in _deps(path, packages, k, e, dangling)}))
        facts = node_facts(all=sorted({canonical(dict(_facts(e))) for _k, e in found}))
        version = str(entry.get("version", ""))
        source = _source(str(entry.get("resolved", "")), version)
        nodes[ident] = Node(_name(key, entry), version, source, facts, deps, None)
    skip = ("packages", "dependencies")
    settings = {key: canonical(value) for key, value in doc.items() if key not in skip}
    return LockGraph(nodes, settings, dangling)


def _is_local(key: str) -> bool:
    return not key.startswith(_MODULES) and f"/{_MODULES}" not in key


def _name(key: str, entry: dict[str, Any]) -> str:
    return str(entry.get("name") or key.rsplit(_MODULES, 1)[-1])


def _ident(key: str, entry: dict[str, Any]) -> str:
    return f"{_name(key, entry)}@{entry.get('version', '')} {entry.get('resolved', '')}"


def _source(resolved: str, version: str) -> str:
    """Where a copy comes from: a registry tarball URL without its file name (which repeats
    the version), any other ``resolved`` (git, file, URL) as it is."""
    registry, found, tarball = resolved.rpartition("/-/")
    return registry if found and tarball.endswith(f"-{version}.tgz") else resolved


def _facts(entry: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    specs = {field: entry.get(field) for field in _DEP_FIELDS if field in entry}
    rest = {k: v for k, v in entry.items() if k not in _OWN}
    # the version is also in a copy's identifier, but not in a workspace entry's
    facts = {
        "checksum": entry.get("integrity"),
        "dependencies": specs,
        "version": entry.get("version"),
    }
    return node_facts(**facts, **rest)


def _deps(
    path: str, packages: dict[str, Any], key: str, entry: dict[str, Any], dangling: list[str]
) -> tuple[str, ...]:
    deps = []
    for field in _DEP_FIELDS:
        table = entry.get(field) or {}
        if not isinstance(table, dict):
            raise LockParseError(path, f"{field} of {key!r} must be an object")
        for name in table:
            target = _target(packages, npm_lookup(packages, key, str(name)))
            if target is not None:
                deps.append(target)
            elif field in _REQUIRED:
                where = key or "the root project"
                dangling.append(f"dependency {name} of {where} is not in the lockfile")
    return tuple(deps)


def _target(packages: dict[str, Any], key: str | None) -> str | None:
    if key is None:
        return None
    entry = packages[key]
    if entry.get("link") is True:
        resolved = entry.get("resolved")
        if not isinstance(resolved, str) or not isinstance(packages.get(resolved), dict):
            return None
        key, entry = resolved, packages[resolved]
        if entry.get("link") is True:
            return None  # a link to a link: npm writes none
    return _LOCAL + key if _is_local(key) else _ident(key, entry)
