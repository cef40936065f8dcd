"""Differential test against uv's own lock: 0 under-selections on generated workspaces.

The workspaces (tests/lanes/uv_generate.py, seeded) have extras requested along the way,
dependency groups with ``include-group``, ``[tool.uv] dev-dependencies``, path sources down,
sideways and up, workspaces below the repository root and members whose dependencies are
``dynamic``; their ``uv.lock`` files were written by ``uv lock`` itself and are committed as data
(tests/lanes/data/uv_workspaces.json). For every project as a lane root, every local package that
uv installs for it with all its extras and the default group (``uv sync --all-extras``, group
``dev``) must be covered by the lane lanes derives without a configuration.

The oracle below reads the lock independently of ``lanes.discovery.python``.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lanes.workspace import load_workspace
from tests.lanes.fixtures import commit_all, git, write_files
from tests.lanes.uv_generate import DATA, SEEDS, generate, make_dynamic

WORKSPACES: dict[str, dict[str, str]] = json.loads(DATA.read_text(encoding="utf-8"))


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _local(package: dict[str, Any]) -> bool:
    source = package.get("source", {})
    return any(key in source for key in ("editable", "virtual", "directory"))


def _requested(entries: list[dict[str, Any]]) -> Iterator[tuple[str, str | None]]:
    for entry in entries:
        name = normalize(entry["name"])
        yield name, None
        for extra in entry.get("extra", []):
            yield name, normalize(extra)


def uv_installs(lock: dict[str, Any], root: str) -> set[str]:
    """The local packages ``uv sync --all-extras`` (default group ``dev``) installs for ``root``."""
    packages = {normalize(p["name"]): p for p in lock["package"] if _local(p)}
    top = packages[root]
    wanted = list(_requested(top.get("dependencies", [])))
    for entries in top.get("optional-dependencies", {}).values():
        wanted += _requested(entries)
    wanted += _requested(top.get("dev-dependencies", {}).get("dev", []))
    seen: set[tuple[str, str | None]] = set()
    while wanted:
        name, extra = wanted.pop()
        if (name, extra) in seen or name not in packages:
            continue
        seen.add((name, extra))
        package = packages[name]
        if extra is None:
            wanted += _requested(package.get("dependencies", []))
        else:
            wanted += _requested(package.get("optional-dependencies", {}).get(extra, []))
    return {name for name, _ in seen} - {root}


@pytest.fixture(scope="module", params=[str(seed) for seed in SEEDS])
def workspace(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp(f"uv-{request.param}")
    git(repo, "init", "-q")
    write_files(repo, WORKSPACES[request.param])
    commit_all(repo, "generated workspace")
    return repo


def test_the_data_covers_every_rule() -> None:
    text = "\n".join(t for files in WORKSPACES.values() for t in files.values())
    for needle in ("dynamic = [", "include-group", "dev-dependencies", "extra = [", '"../../../'):
        assert needle in text, needle
    roots = {next(p for p in files if p.endswith("uv.lock")) for files in WORKSPACES.values()}
    assert {"uv.lock", "python/uv.lock", "src/py/uv.lock"} <= roots


def test_no_under_selection_against_uv_lock(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANES_CACHE_DIR", str(workspace / ".cache"))
    loaded = load_workspace(workspace, use_cache=False)
    assert loaded.index.problems == []
    lock_path = next(workspace.rglob("uv.lock"))
    lock = tomllib.loads(lock_path.read_text(encoding="utf-8"))
    by_key = {normalize(name): name for name in loaded.index.kinds}
    under: dict[str, set[str]] = {}
    compared = 0
    for package in lock["package"]:
        if not _local(package):
            continue
        root = normalize(package["name"])
        if root not in by_key:
            under[root] = {"(not discovered)"}
            continue
        covered = {normalize(c) for c in loaded.index.coverage[by_key[root]]}
        missing = uv_installs(lock, root) - covered
        compared += 1
        if missing:
            under[root] = missing
    assert compared >= len(lock["manifest"]["members"])  # every member, and path packages in use
    assert under == {}


def test_the_committed_manifests_are_the_generators() -> None:
    """The data cannot drift from tests/lanes/uv_generate.py (only the locks come from uv)."""
    for seed in SEEDS:
        files, dynamic, root = generate(seed)
        prefix = f"{root}/" if root else ""
        for name in dynamic:
            path = f"{prefix}packages/{name}/pyproject.toml"
            files[path] = make_dynamic(files[path])
        stored = dict(WORKSPACES[str(seed)])
        assert stored.pop(f"{prefix}uv.lock").startswith("version = 1\n")
        assert stored == files


def _drop_dependency(lock: str, static: set[str]) -> tuple[str, str, str]:
    """``lock`` without the first ``dependencies`` entry of a package in ``static`` on another
    local package, and that edge (source, target)."""
    for match in re.finditer(
        r'\nname = "([^"]+)"\n[^\[]*?\ndependencies = \[\n((?:    .*\n)*)\]', lock
    ):
        if match.group(1) not in static:
            continue
        entry = re.search(r'^    \{ name = "([^"]+)" \},\n', match.group(2), re.M)
        if entry is not None:
            start = match.start(2) + entry.start()
            return (
                lock[:start] + lock[start + len(entry.group(0)) :],
                match.group(1),
                entry.group(1),
            )
    raise AssertionError("no droppable dependency in the lock")


@pytest.mark.parametrize("seed", [str(seed) for seed in SEEDS])
def test_the_uv_lock_agrees_and_a_dropped_dependency_is_reported(seed: str, tmp_path: Path) -> None:
    """Each lock uv wrote records every manifest edge (no gap); with one resolved dependency of
    a workspace member removed from it, exactly that edge is reported, and selection is
    unchanged. (A project outside the workspace, linked by a path source, is the business of
    its own lock, if it has one.)"""
    from lanes.discovery import python

    files = dict(WORKSPACES[seed])
    write_files(tmp_path / "fresh", files)
    fresh = python.parse(tmp_path / "fresh", python.locate(tmp_path / "fresh"))
    assert fresh.lock_gaps == []
    lock_path = next(p for p in files if p.endswith("uv.lock"))
    members = set(tomllib.loads(files[lock_path]).get("manifest", {}).get("members", []))
    static = members & {
        normalize(tomllib.loads(text)["project"]["name"])
        for path, text in files.items()
        if path.endswith("pyproject.toml")
        and "project" in tomllib.loads(text)
        and "dependencies" not in tomllib.loads(text)["project"].get("dynamic", [])
    }
    files[lock_path], source, target = _drop_dependency(files[lock_path], static)
    write_files(tmp_path / "stale", files)
    stale = python.parse(tmp_path / "stale", python.locate(tmp_path / "stale"))
    gaps = {(g.lockfile, normalize(g.source), normalize(g.target)) for g in stale.lock_gaps}
    assert gaps == {(lock_path, source, target)}
    assert stale.edges == fresh.edges
