"""End to end: a tracked symbolic link inside a component makes what it points at part of that
component's build, so a change to the target (a file, or anything under a directory) selects
the link owner's lanes besides the target owner's."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lanes.workspace import load_workspace
from tests.lanes.fixtures import commit_all, git
from tests.lanes.test_cli_cargo import detect_json, lanes
from tests.lanes.test_cli_cargo_semantics import make_repo, package

CONFIG = (
    "version: 1\nignore: ['generated/**']\nunmatched: none\nlanes:\n"
    "  a:\n    roots: [a]\n    run: 'true'\n  b:\n    roots: [b]\n    run: 'true'\n"
)


def _repo(tmp_path: Path) -> Path:
    repo = make_repo(
        tmp_path / "repo",
        {
            "Cargo.toml": '[workspace]\nresolver = "2"\nmembers = ["crates/a", "crates/b"]\n',
            "crates/a/Cargo.toml": package("a"),
            "crates/a/src/lib.rs": "mod gen;\nmod proto;\n",
            "crates/b/Cargo.toml": package("b"),
            "crates/b/data/gen.rs": "pub fn g() {}\n",
            "crates/b/proto/mod.rs": "\n",
            "generated/schema.rs": "\n",
            "lanes.yml": CONFIG,
        },
    )
    os.symlink("../../b/data/gen.rs", repo / "crates/a/src/gen.rs")
    os.symlink("../../b/proto", repo / "crates/a/src/proto")
    os.symlink("../../../generated/schema.rs", repo / "crates/a/src/schema.rs")
    os.symlink("/etc/hostname", repo / "crates/a/outside")
    commit_all(repo, "links")
    return repo


def _selected(repo: Path, *args: str, stdin: bytes = b"") -> list[str]:
    data = detect_json(repo, *args, stdin=stdin)
    assert data["mode"] == "precise", data["failsafe"]
    return list(data["selected"])


def test_a_change_behind_a_link_selects_the_links_owner(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    for path in ("crates/b/data/gen.rs", "crates/b/proto/mod.rs", "crates/b/proto/new.rs"):
        assert _selected(repo, "--paths-from-stdin", stdin=f"{path}\n".encode()) == ["a", "b"]
    # what no link points at stays b's alone
    assert _selected(repo, "--paths-from-stdin", stdin=b"crates/b/src/lib.rs\n") == ["b"]
    # a target in an ignored directory is not ignored: a builds it
    assert _selected(repo, "--paths-from-stdin", stdin=b"generated/schema.rs\n") == ["a"]
    assert _selected(repo, "--paths-from-stdin", stdin=b"generated/other.rs\n") == []


def test_with_base_and_a_warm_cache(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    base = git(repo, "rev-parse", "HEAD").strip()
    (repo / "crates/b/data/gen.rs").write_text("pub fn g() {}\n// changed\n")
    commit_all(repo, "edit behind the link")
    assert _selected(repo, "--base", base) == ["a", "b"]
    assert _selected(repo, "--base", base) == ["a", "b"]  # the cached listing of links
    os.unlink(repo / "crates/a/src/gen.rs")
    (repo / "crates/a/src/gen.rs").write_text("pub fn g() {}\n")
    commit_all(repo, "a keeps its own copy")
    assert _selected(repo, "--paths-from-stdin", stdin=b"crates/b/data/gen.rs\n") == ["b"]


def _failing_git(tmp_path: Path) -> dict[str, str]:
    failing = tmp_path / "failing-git"
    failing.write_text("#!/bin/sh\nexit 128\n")
    failing.chmod(0o755)
    return {"GIT_PYTHON_GIT_EXECUTABLE": str(failing)}


def test_links_are_walked_when_git_cannot_list_them(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    env = _failing_git(tmp_path)
    for path in ("crates/b/data/gen.rs", "crates/b/proto/new.rs"):
        result = lanes(repo, "detect", "--format", "json", "--paths-from-stdin",
                       stdin=f"{path}\n".encode(), env=env)  # fmt: skip
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        assert (data["mode"], data["selected"]) == ("precise", ["a", "b"])


def test_a_links_walk_that_stops_at_its_bound_fails_safe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lanes.discovery import _tree

    repo = _repo(tmp_path)
    for name, value in _failing_git(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LANES_CACHE_DIR", str(tmp_path / "cache"))
    assert set(_tree.links(repo).paths) >= {"crates/a/src/gen.rs", "crates/a/src/proto"}
    monkeypatch.setattr(_tree, "MAX_DIRECTORIES", 1)
    assert _tree.links(repo).truncated
    workspace = load_workspace(repo)
    assert "discovery-truncated: .:0" in workspace.index.problems
