"""``yarn.lock`` of yarn berry (2 to 4: a ``__metadata`` header, ``version`` 4 to 10) as a lock
graph. A classic yarn v1 lockfile is refused (:class:`LockParseError`): it records no
workspaces, so no change in it could be attributed.

Each entry is keyed by the descriptors it satisfies (``name@npm:^1.0.0, name@npm:^1.2.0``) and
is one node, identified by its ``resolution`` locator. Members are the entries resolved to
``name@workspace:<dir>``. A dependency ``name: range`` leads to the entry keyed
``name@range``, or, for a relative ``link:``, ``portal:`` or ``file:`` range, the entry yarn
binds to the depending package (``name@link:../b::locator=<its locator, URL-encoded>``); a peer
dependency counts when such an entry exists (the parent provides it otherwise). A patched
package (``name@patch:name@npm%3A1.0.0#...``) is reached through the package it patches.
``__metadata`` is a setting.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

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

_VERSIONS = range(4, 11)
_OWN = ("version", "resolution", "checksum", "dependencies", "peerDependencies")
_WORKSPACE = "workspace:"
_PATCH = "patch:"
_BOUND = "::locator="


def parse(path: str, data: bytes) -> LockGraph:
    text = decode(path, data)
    if "__metadata:" not in text:
        raise LockParseError(path, "yarn classic lockfile is not supported")
    doc = expect_mapping(path, load_yaml(path, text), "the lockfile")
    metadata = expect_mapping(path, doc.get("__metadata"), "__metadata")
    version = metadata.get("version")
    if isinstance(version, str) and version.isdigit():
        version = int(version)
    if not isinstance(version, int) or version not in _VERSIONS:
        raise LockParseError(path, f"unsupported yarn.lock __metadata version {version!r}")
    entries: dict[str, dict[str, Any]] = {}
    descriptors: dict[str, str] = {}
    bound: dict[tuple[str, str], str] = {}  # (descriptor, depending locator) -> locator
    for key, value in doc.items():
        if key == "__metadata":
            continue
        entry = expect_mapping(path, value, f"entry {key!r}")
        locator = entry.get("resolution")
        if not isinstance(locator, str):
            raise LockParseError(path, f"entry {key!r} has no resolution")
        if locator in entries:
            raise LockParseError(path, f"resolution {locator!r} is listed twice")
        entries[locator] = entry
        for descriptor in str(key).split(","):
            descriptor = descriptor.strip()
            descriptors[descriptor] = locator
            if _BOUND in descriptor:
                plain, _, parent = descriptor.partition(_BOUND)
                bound[plain, unquote(parent)] = locator
    nodes: dict[str, Node] = {}
    dangling: list[str] = []
    for locator, entry in entries.items():
        deps = _deps(path, locator, entry, descriptors, bound, dangling)
        nodes[locator] = _node(path, locator, entry, deps)
    for patched, inner in _patched(entries):
        nodes[inner] = nodes[inner]._replace(deps=(*nodes[inner].deps, patched))
    settings = {"__metadata": canonical(metadata)}
    return LockGraph(nodes, settings, dangling)


def _node(path: str, locator: str, entry: dict[str, Any], deps: tuple[str, ...]) -> Node:
    name, reference = split_name(locator)
    version = str(entry.get("version", ""))
    local = None
    if reference.startswith(_WORKSPACE):
        local = LocalPackage(name, local_dir(path, reference[len(_WORKSPACE) :]))
    source = "npm" if reference == f"npm:{version}" else reference
    specs = {field: entry.get(field) for field in ("dependencies", "peerDependencies")}
    rest = {k: v for k, v in entry.items() if k not in _OWN}
    facts = node_facts(checksum=entry.get("checksum"), dependencies=specs, **rest)
    return Node(name, version, source, facts, deps, local)


def _deps(
    path: str,
    locator: str,
    entry: dict[str, Any],
    descriptors: dict[str, str],
    bound: dict[tuple[str, str], str],
    dangling: list[str],
) -> tuple[str, ...]:
    deps = []
    for field in ("dependencies", "peerDependencies"):
        table = expect_mapping(path, entry.get(field) or {}, f"{locator}: {field}")
        for name, spec in table.items():
            descriptor = f"{name}@{spec}"
            target = descriptors.get(descriptor) or bound.get((descriptor, locator))
            if target is not None:
                deps.append(target)
            elif field == "dependencies":
                dangling.append(f"dependency {name}@{spec} of {locator} is not in the lockfile")
    return tuple(deps)


def _patched(entries: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """(patched locator, locator of the package it patches) for each patch entry present."""
    found = []
    for locator in entries:
        _name, reference = split_name(locator)
        if reference.startswith(_PATCH):
            inner = unquote(reference[len(_PATCH) :].split("#", 1)[0])
            if inner in entries:
                found.append((locator, inner))
    return found
