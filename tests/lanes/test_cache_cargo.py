"""The index cache key covers every file Cargo discovery reads: with a warm cache, changing any
input (lockfile, member manifest, member glob, implicit member) gives a fresh answer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lanes.discovery import _common, cargo
from lanes.model import Discovery
from lanes.workspace import load_workspace
from tests.lanes.fixtures import cargo_workspace, git, write_files


def package(name: str, body: str = "") -> str:
    return f'[package]\nname = "{name}"\nversion = "0.1.0"\n{body}'


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LANES_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(root))
    write_files(
        root,
        {
            "Cargo.toml": '[workspace]\nmembers = ["crates/*"]\n',
            "crates/a/Cargo.toml": package(
                "a", '[dependencies]\nv = { path = "../../vendor/v" }\n'
            ),
            "crates/b/Cargo.toml": package("b"),
            "vendor/v/src/lib.rs": "\n",
            "Cargo.lock": (
                'version = 4\n\n[[package]]\nname = "a"\nversion = "0.1.0"\n\n'
                '[[package]]\nname = "b"\nversion = "0.1.0"\n'
            ),
        },
    )
    return root


def warm(repo: Path) -> tuple[dict[str, list[str]], list[str]]:
    """Load twice: the second load must come from the cache and agree with the first."""
    first = load_workspace(repo)
    second = load_workspace(repo)
    assert second.cache_hit and second.index == first.index
    return first.index.covered_by, first.index.problems


def fresh(repo: Path) -> tuple[dict[str, list[str]], list[str]]:
    loaded = load_workspace(repo)
    assert not loaded.cache_hit
    assert loaded.index == load_workspace(repo, use_cache=False).index
    return loaded.index.covered_by, loaded.index.problems


def test_each_cargo_input_changes_the_key(repo: Path) -> None:
    covered_by, problems = warm(repo)
    assert problems == ["unresolved-dependency: crates/a/Cargo.toml:5"]  # vendor/v: no manifest
    assert covered_by["b"] == ["b"]

    # The implicit member's manifest appears.
    write_files(repo, {"vendor/v/Cargo.toml": package("v")})
    covered_by, problems = fresh(repo)
    assert problems == [] and sorted(covered_by["v"]) == ["a", "v"]
    warm(repo)

    # The lockfile records an edge the manifests lack.
    lock = (repo / "Cargo.lock").read_text()
    (repo / "Cargo.lock").write_text(
        lock.replace(
            'name = "a"\nversion = "0.1.0"\n',
            'name = "a"\nversion = "0.1.0"\ndependencies = ["b"]\n',
        )
    )
    covered_by, _ = fresh(repo)
    assert sorted(covered_by["b"]) == ["a", "b"]
    warm(repo)

    # The member glob expands to one more crate.
    write_files(repo, {"crates/c/Cargo.toml": package("c")})
    covered_by, _ = fresh(repo)
    assert covered_by["c"] == ["c"]
    warm(repo)

    # A member manifest is removed (the directory stays, as after a partial checkout).
    os.unlink(repo / "crates/c/Cargo.toml")
    covered_by, problems = fresh(repo)
    assert "c" not in covered_by
    assert problems == ["manifest-error: Cargo.toml:2"]


def test_locate_lists_every_file_parse_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = cargo_workspace(tmp_path)
    write_files(
        repo,
        {
            "meerkat-core/Cargo.toml": (repo / "meerkat-core/Cargo.toml").read_text()
            + '\n[dev-dependencies]\n"helper" = { "path" = \'../vendor/helper\' }\n',
            "vendor/helper/Cargo.toml": package(
                "helper", '[dependencies.deep]\npath = "../deep"\n'
            ),
            "vendor/deep/Cargo.toml": package("deep"),
        },
    )
    located, touched, result = located_and_read(repo, monkeypatch)
    assert {"deep", "helper"} <= {c.name for c in result.components}
    assert result.errors == []
    assert touched <= set(located)
    assert {"Cargo.lock", "vendor/helper/Cargo.toml", "vendor/deep/Cargo.toml"} <= set(located)


def located_and_read(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[str], set[str], Discovery]:
    """What Cargo's ``locate`` lists for ``repo``, the repository files ``parse`` then reads
    (file reads and ``isfile`` checks, spied on), and the discovery: a warm run replays only
    what ``locate`` listed, so ``parse`` must read nothing else."""
    real = os.path.realpath(repo)
    touched: set[str] = set()
    read_text, isfile = _common.read_text, os.path.isfile

    def record(path: str) -> None:
        full = os.path.realpath(path)
        if full.startswith(real + os.sep):
            touched.add(os.path.relpath(full, real))

    def spy_read(root: object, path: str) -> tuple[str | None, object]:
        record(os.path.join(str(root), path))
        return read_text(root, path)  # type: ignore[arg-type]

    def spy_isfile(path: object) -> bool:
        record(str(path))
        return isfile(path)  # type: ignore[arg-type]

    located = cargo.locate(repo)
    monkeypatch.setattr(_common, "read_text", spy_read)
    monkeypatch.setattr(os.path, "isfile", spy_isfile)
    result = cargo.parse(repo, located)
    monkeypatch.undo()
    return located, touched, result
