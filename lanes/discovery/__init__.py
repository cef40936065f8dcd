"""Manifest discovery, one module per ecosystem.

Each module exposes two functions:

* ``locate(repo: StrPath) -> list[str]``: every manifest file discovery would read
  (repository-relative POSIX paths, sorted), cheap enough to run on every invocation: the
  derived index is cached under the content hash of these files.
* ``parse(repo: StrPath, manifests: list[str]) -> Discovery``: the components, edges and errors.

Both are pure reads of the working tree: no cargo, npm or uv needed.
"""

from __future__ import annotations

import os
from importlib import import_module
from typing import Protocol

from lanes.model import Discovery, StrPath

KINDS: tuple[str, ...] = ("cargo", "python", "npm")
DISCOVERY_FILES = frozenset(
    {
        "Cargo.toml",
        "Cargo.lock",
        "pyproject.toml",
        "uv.lock",
        "package.json",
        "package-lock.json",
        "pnpm-workspace.yaml",
        "pnpm-lock.yaml",
        "yarn.lock",
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
    def locate(self, repo: StrPath) -> list[str]: ...

    def parse(self, repo: StrPath, manifests: list[str]) -> Discovery: ...


def ecosystem(kind: str) -> Ecosystem:
    """The discovery module for ``kind`` (imported on demand)."""
    if kind not in KINDS:
        raise ValueError(f"unknown manifest kind {kind!r}; expected one of {', '.join(KINDS)}")
    module: Ecosystem = import_module(f"lanes.discovery.{kind}")
    return module


def present_kinds(repo: StrPath) -> list[str]:
    """The kinds with a manifest anywhere in the repository (tracked ones in a git repository;
    see ``lanes.discovery._tree``): the default for ``discover``. Projects are not always at
    the root: a workspace in a subdirectory or several linked projects must still be found."""
    from lanes.discovery._tree import manifests

    tree = manifests(repo)
    names = {path.rpartition("/")[2] for path in tree.paths}
    return [
        kind
        for kind in KINDS
        if any(os.path.isfile(os.path.join(repo, m)) for m in _ROOT_MARKERS[kind])
        or not names.isdisjoint(_ROOT_MARKERS[kind])
    ]


def locate_all(repo: StrPath, kinds: list[str]) -> dict[str, list[str]]:
    return {kind: ecosystem(kind).locate(repo) for kind in kinds}


def parse_all(repo: StrPath, located: dict[str, list[str]]) -> Discovery:
    """Every ecosystem's discovery, combined: one component per directory, qualified names
    (``cargo:x``, ``python:x``) where two ecosystems use one name (``lanes.discovery._combine``)."""
    from lanes.discovery._combine import combine

    return combine(
        (kind, ecosystem(kind).parse(repo, manifests)) for kind, manifests in located.items()
    )
