"""Manifest discovery, one module per ecosystem.

Each module exposes two functions:

* ``locate(tree: Tree) -> list[str]``: every manifest file discovery would read
  (repository-relative POSIX paths, sorted), cheap enough to run on every invocation: the
  derived index is cached under the content hash of these files.
* ``parse(tree: Tree, manifests: list[str]) -> Discovery``: the components, edges and errors.

Both only read, and only through a :class:`~lanes.discovery._source.Tree`: the work tree
(:class:`~lanes.discovery._source.WorkTree`) or a git revision
(:class:`lanes.git.tree.RevisionTree`). No cargo, npm or uv needed. Each function also takes the
path of a work tree instead of a tree.
"""

from __future__ import annotations

from importlib import import_module
from typing import Protocol

from lanes.discovery._source import Source, as_tree
from lanes.model import Discovery

KINDS: tuple[str, ...] = ("cargo", "python", "npm")
DISCOVERY_FILES = frozenset(
    {
        "Cargo.toml",
        "Cargo.lock",
        "pyproject.toml",
        "uv.lock",
        "uv.toml",
        "package.json",
        "package-lock.json",
        "pnpm-workspace.yaml",
        "pnpm-lock.yaml",
        "yarn.lock",
        ".yarnrc.yml",
    }
)
"""Files discovery reads, by name (the configuration file is added by path): a change to none
of these (and not to the configuration) leaves the graph as it was."""
_ROOT_MARKERS = {
    "cargo": ("Cargo.toml",),
    "python": ("pyproject.toml",),
    "npm": ("package.json", "pnpm-workspace.yaml"),
}


class Ecosystem(Protocol):
    def locate(self, source: Source) -> list[str]: ...

    def parse(self, source: Source, manifests: list[str]) -> Discovery: ...


def ecosystem(kind: str) -> Ecosystem:
    """The discovery module for ``kind`` (imported on demand)."""
    if kind not in KINDS:
        raise ValueError(f"unknown manifest kind {kind!r}; expected one of {', '.join(KINDS)}")
    module: Ecosystem = import_module(f"lanes.discovery.{kind}")
    return module


def present_kinds(source: Source) -> list[str]:
    """The kinds with a manifest anywhere in the repository (tracked ones in a git repository;
    see ``lanes.discovery._tree``): the default for ``discover``. Projects are not always at
    the root: a workspace in a subdirectory or several linked projects must still be found."""
    tree = as_tree(source)
    names = {path.rpartition("/")[2] for path in tree.manifests().paths}
    return [
        kind
        for kind in KINDS
        if any(tree.is_file(m) for m in _ROOT_MARKERS[kind])
        or not names.isdisjoint(_ROOT_MARKERS[kind])
    ]


def locate_all(source: Source, kinds: list[str]) -> dict[str, list[str]]:
    tree = as_tree(source)
    return {kind: ecosystem(kind).locate(tree) for kind in kinds}


def parse_all(source: Source, located: dict[str, list[str]]) -> Discovery:
    """Every ecosystem's discovery, combined: one component per directory, qualified names
    (``cargo:x``, ``python:x``) where two ecosystems use one name (``lanes.discovery._combine``)."""
    from lanes.discovery._combine import combine

    tree = as_tree(source)
    return combine(
        (kind, ecosystem(kind).parse(tree, manifests)) for kind, manifests in located.items()
    )
