"""Semantic lockfile diffs: which workspace members reach the third-party packages a lockfile
change touched. Pure: bytes in, data out (no I/O, no git).

One module per lockfile kind turns the bytes into a lock graph (:mod:`.cargo`, :mod:`.uv`,
:mod:`.pnpm`, :mod:`.npm`, :mod:`.yarn`); :func:`diff_lockfile` diffs the two graphs. Anything
the diff cannot pin on a member (settings, format version, a package no member reaches, a
dependency that resolves to nothing) is returned in ``unattributed`` for the caller to treat as
fail-safe; bytes that do not parse raise :class:`LockParseError`.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import import_module

from lanes.lockdiff._diff import diff_graphs
from lanes.lockdiff._model import (
    LocalPackage,
    LockDiff,
    LockGraph,
    LockParseError,
    PackageChange,
)

__all__ = ["KINDS", "LocalPackage", "LockDiff", "LockParseError", "PackageChange", "diff_lockfile"]

_MODULES = {
    "Cargo.lock": "cargo",
    "uv.lock": "uv",
    "pnpm-lock.yaml": "pnpm",
    "package-lock.json": "npm",
    "yarn.lock": "yarn",
}
KINDS: frozenset[str] = frozenset(_MODULES)
"""The lockfile basenames :func:`diff_lockfile` understands."""


def diff_lockfile(path: str, old: bytes | None, new: bytes | None) -> LockDiff:
    """The semantic diff of lockfile ``path`` (repository-relative; its directory prefixes the
    members' directories) from ``old`` to ``new`` bytes (``None``: the file is absent on that
    side). Raises :class:`LockParseError` for bytes that do not parse, an unknown format
    version, or a basename not in :data:`KINDS`."""
    basename = path.replace("\\", "/").rsplit("/", 1)[-1]
    module_name = _MODULES.get(basename)
    if module_name is None:
        raise LockParseError(path, "not a supported lockfile")
    graphs = [None if data is None else _parsed(module_name, path, data) for data in (old, new)]
    return diff_graphs(path, graphs[0], graphs[1])


@lru_cache(maxsize=4)
def _parsed(module_name: str, path: str, data: bytes) -> LockGraph:
    """The lock graph of ``data``; the last few are kept, as a history replay diffs each
    revision of a lockfile against the one before and the one after it. Graphs are not
    mutated after parsing."""
    graph: LockGraph = import_module(f"lanes.lockdiff.{module_name}").parse(path, data)
    return graph
