"""Discovery through a git revision (RevisionTree) against discovery through the work tree
(WorkTree), on generated workspaces of every ecosystem in real git repositories; the
content-keyed index of ``workspace_at``; typed errors; the git processes a revision costs."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from lanes import discovery
from lanes.audit.tree_at import load_at, workspace_at
from lanes.discovery._revision import RevisionTree, RevisionUnavailable
from lanes.discovery._source import Tree, WorkTree
from lanes.git.runner import GitError
from lanes.model import Discovery
from lanes.workspace import load_workspace
from tests.lanes import cargo_gen
from tests.lanes.fixtures import commit_all, git, write_files
from tests.lanes.js_workspaces import DATA as JS_DATA
from tests.lanes.js_workspaces import LOCKFILE
from tests.lanes.js_workspaces import generate as generate_js
from tests.lanes.uv_generate import DATA as UV_DATA

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

UV_WORKSPACES: dict[str, dict[str, str]] = json.loads(UV_DATA.read_text(encoding="utf-8"))


def discover(tree: Tree) -> tuple[dict[str, list[str]], Discovery]:
    located = discovery.locate_all(tree, discovery.present_kinds(tree))
    return located, discovery.parse_all(tree, located)


def committed(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q")
    write_files(root, files)
    commit_all(root, "initial")
    return root


def assert_same(repo: Path, rev: str = "HEAD") -> Discovery:
    """Discovery at ``rev`` equals discovery of the work tree (checked out at ``rev``)."""
    worked = discover(WorkTree(repo))
    revised = discover(RevisionTree(repo, rev))
    assert revised[0] == worked[0]
    found = revised[1]
    assert found.components == worked[1].components
    assert found.edges == worked[1].edges
    assert found.errors == worked[1].errors
    assert found.global_inputs == worked[1].global_inputs
    assert found.manifests == worked[1].manifests
    return found


def linked_cargo(root: Path) -> Path:
    """Implicit members, path dependencies through a symbolic link (relative and absolute), a
    maturin pyproject beside a crate, a member glob matching a directory without a manifest."""
    repo = committed(
        root,
        {
            "Cargo.toml": '[workspace]\nmembers = ["crates/*"]\nexclude = ["crates/old"]\n',
            "crates/app/Cargo.toml": (
                '[package]\nname = "app"\n\n[dependencies]\ncore = { path = "../core" }\n'
                'vendored = { path = "../../third/vendored" }\n'
                'deep = { path = "../../linked/deep" }\n'
            ),
            "crates/app/pyproject.toml": (
                '[project]\nname = "app-py"\nversion = "1"\n\n[build-system]\n'
                'requires = ["maturin"]\nbuild-backend = "maturin"\n'
            ),
            "crates/core/Cargo.toml": '[package]\nname = "core"\n',
            "crates/docs/README.md": "no manifest here\n",
            "crates/old/Cargo.toml": '[package]\nname = "old"\n',
            "real/vendored/Cargo.toml": '[package]\nname = "vendored"\n',
            "real/deep/Cargo.toml": (
                '[package]\nname = "deep"\n\n[dependencies]\n'
                'core = { path = "../../crates/core" }\n'
            ),
        },
    )
    os.symlink("../real", repo / "crates" / "linked-up")  # unused, listed in crates/
    (repo / "third").mkdir()
    os.symlink("../real/vendored", repo / "third" / "vendored")
    os.symlink(str(repo.resolve() / "real"), repo / "linked")  # absolute target
    commit_all(repo, "links")
    return repo


def test_cargo_with_symlinks_implicit_members_and_maturin(tmp_path: Path) -> None:
    found = assert_same(linked_cargo(tmp_path / "repo"))
    names = {c.name for c in found.components}
    assert {"app", "core", "vendored", "deep"} <= names
    assert {(e.source, e.target) for e in found.edges} >= {
        ("app", "vendored"),
        ("app", "deep"),
        ("deep", "core"),
    }
    assert any("crates/docs" in error.message for error in found.errors)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_cargo_workspaces(tmp_path: Path, seed: int) -> None:
    repo, generated = generated_cargo(tmp_path / "repo", seed)
    found = assert_same(repo)
    assert len(found.components) == len(generated.crates) + (generated.root_package is not None)
    assert any(c.directory and c.directory.startswith("vendor/") for c in found.components)


@pytest.mark.parametrize("seed", ["1", "2", "3"])
def test_uv_workspaces(tmp_path: Path, seed: str) -> None:
    found = assert_same(committed(tmp_path / "repo", UV_WORKSPACES[seed]))
    assert len(found.components) > 3 and found.edges


@pytest.mark.parametrize("tool", ["pnpm", "npm", "yarn"])
def test_js_workspaces_with_lockfiles(tmp_path: Path, tool: str) -> None:
    files = generate_js(1, tool)
    files[LOCKFILE[tool]] = (JS_DATA / f"{tool}-1.{LOCKFILE[tool]}").read_text(encoding="utf-8")
    found = assert_same(committed(tmp_path / "repo", files))
    assert len(found.components) > 20 and found.edges
    assert LOCKFILE[tool] in found.global_inputs


def test_a_revision_keeps_its_own_manifests_after_a_later_commit(tmp_path: Path) -> None:
    repo = linked_cargo(tmp_path / "repo")
    before = discover(WorkTree(repo))
    write_files(repo, {"crates/app/Cargo.toml": '[package]\nname = "app"\n'})
    commit_all(repo, "app drops its dependencies")
    after = assert_same(repo)
    assert ("app", "core") not in {(e.source, e.target) for e in after.edges}
    assert discover(RevisionTree(repo, "HEAD~1")) == before
    assert discover(RevisionTree(repo, "HEAD~1"))[1].edges != after.edges


def test_workspace_at_equals_the_work_tree_and_is_keyed_by_content(tmp_path: Path) -> None:
    repo = linked_cargo(tmp_path / "repo")
    write_files(repo, {"lanes.yml": "version: 1\nlanes:\n  app:\n    roots: [app]\n"})
    commit_all(repo, "config")
    expected = load_workspace(repo, use_cache=False)
    with workspace_at(repo, "HEAD", "lanes.yml") as first:
        assert first.configured and not first.cache_hit
        assert isinstance(first.tree, RevisionTree) and first.tree.rev == "HEAD"
        assert isinstance(expected.tree, WorkTree)
        assert first.index.to_json() == expected.index.to_json()
        assert first.config.lanes == expected.config.lanes
    write_files(repo, {"crates/core/src/lib.rs": "// code, no manifest\n"})
    commit_all(repo, "code only")
    with workspace_at(repo, "HEAD", "lanes.yml") as unchanged:
        assert unchanged.cache_hit
        assert unchanged.index.to_json() == expected.index.to_json()
    write_files(repo, {"crates/extra/Cargo.toml": '[package]\nname = "extra"\n'})
    commit_all(repo, "a new member the glob matches")
    with workspace_at(repo, "HEAD", "lanes.yml") as grown:
        assert not grown.cache_hit
        assert "extra" in grown.index.kinds
    with workspace_at(repo, "HEAD~2", "lanes.yml") as old:
        assert old.cache_hit and "extra" not in old.index.kinds


def test_a_new_directory_a_member_glob_matches_changes_the_key(tmp_path: Path) -> None:
    repo = linked_cargo(tmp_path / "repo")
    before = load_at(repo, "HEAD", None)
    assert not before.cache_hit
    write_files(repo, {"crates/notes/README.md": "a directory without a manifest\n"})
    commit_all(repo, "notes")
    at = load_at(repo, "HEAD", None)
    assert not at.cache_hit
    assert len(at.index.problems) == len(before.index.problems) + 1  # crates/notes: no manifest
    assert load_at(repo, "HEAD~1", None).cache_hit


def test_a_missing_revision_is_a_typed_error(tmp_path: Path) -> None:
    repo = linked_cargo(tmp_path / "repo")
    with pytest.raises(RevisionUnavailable), workspace_at(repo, "no-such-branch", None):
        pass
    with pytest.raises(RevisionUnavailable):
        RevisionTree(tmp_path / "not-a-repo", "HEAD")
    with pytest.raises(GitError):
        RevisionTree(repo, "--output=/tmp/x")


def fake_git(directory: Path, script_body: str) -> str:
    directory.mkdir()
    program = directory / "git"
    real = shutil.which("git")
    program.write_text(f'#!/bin/sh\n{script_body}\nexec {real} "$@"\n')
    program.chmod(0o755)
    return f"{directory}{os.pathsep}{os.environ['PATH']}"


def test_a_failing_blob_read_raises_instead_of_hiding_a_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = linked_cargo(tmp_path / "repo")
    failing = 'for arg in "$@"; do [ "$arg" = cat-file ] && { echo boom >&2; exit 3; }; done'
    monkeypatch.delenv("GIT_PYTHON_GIT_EXECUTABLE", raising=False)
    monkeypatch.setenv("PATH", fake_git(tmp_path / "bin", failing))
    tree = RevisionTree(repo, "HEAD")
    with pytest.raises(GitError, match="boom"):
        discover(tree)
    with pytest.raises(GitError, match="boom"), workspace_at(repo, "HEAD", None):
        pass


def git_calls(log: Path) -> list[str]:
    if not log.exists():
        return []
    return [line.split()[2] for line in log.read_text().splitlines()]


def generated_cargo(root: Path, seed: int) -> tuple[Path, cargo_gen.GenWorkspace]:
    generated = cargo_gen.generate(seed)
    root.mkdir(parents=True)
    cargo_gen.write(generated, root)
    git(root, "init", "-q")
    commit_all(root, "initial")
    return root, generated


@pytest.mark.parametrize("kind", ["generated", "linked"])
def test_a_revision_costs_a_bounded_number_of_git_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    if kind == "generated":
        repo = generated_cargo(tmp_path / "repo", 2)[0]
    else:
        repo = linked_cargo(tmp_path / "repo")
    log = tmp_path / "git.log"
    monkeypatch.delenv("GIT_PYTHON_GIT_EXECUTABLE", raising=False)
    monkeypatch.setenv("PATH", fake_git(tmp_path / "bin", f'echo "$@" >> "{log}"'))
    monkeypatch.setenv("LANES_CACHE_DIR", str(tmp_path / "cache"))
    found = discover(RevisionTree(repo, "HEAD"))[1]
    assert len(found.components) >= 4 and found.edges
    assert git_calls(log) == ["ls-tree", "cat-file"]  # every blob and link target in one batch
    log.unlink()
    assert not load_at(repo, "HEAD", None).cache_hit
    assert git_calls(log) == ["ls-tree", "cat-file"]
    log.unlink()
    assert load_at(repo, "HEAD", None).cache_hit
    # A cached index reads no file; where discovery followed links, the links (one batch).
    assert git_calls(log) == (["ls-tree"] if kind == "generated" else ["ls-tree", "cat-file"])


@pytest.mark.parametrize("module", ["cargo", "python", "npm", "_jslock", "_combine", "_common"])
def test_ecosystem_modules_read_only_through_the_tree(module: str) -> None:
    import ast

    path = Path(discovery.__file__).with_name(f"{module}.py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not imported & {"os", "os.path", "glob", "subprocess", "shutil", "pathlib"}
    assert not any(name.startswith("lanes.git") for name in imported)
    calls = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert "open" not in calls


def test_a_retargeted_link_changes_the_key(tmp_path: Path) -> None:
    repo = linked_cargo(tmp_path / "repo")
    assert "vendored" in load_at(repo, "HEAD", None).index.kinds
    write_files(repo, {"real/other/Cargo.toml": '[package]\nname = "other"\n'})
    (repo / "third" / "vendored").unlink()
    os.symlink("../real/other", repo / "third" / "vendored")
    commit_all(repo, "the link points elsewhere")
    at = load_at(repo, "HEAD", None)
    assert not at.cache_hit
    assert "other" in at.index.kinds and "vendored" not in at.index.kinds
    assert at.index.kinds == load_workspace(repo, use_cache=False).index.kinds


def test_audit_release_fails_when_the_tree_at_b_cannot_be_read(tmp_path: Path) -> None:
    import subprocess
    import sys

    repo = linked_cargo(tmp_path / "repo")
    write_files(repo, {"crates/core/src/lib.rs": "// change\n"})
    commit_all(repo, "change")
    failing = 'for arg in "$@"; do [ "$arg" = ls-tree ] && { echo broken >&2; exit 128; }; done'
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_PYTHON")}
    env.update(PATH=fake_git(tmp_path / "bin", failing), LANES_CACHE_DIR=str(tmp_path / "c"))
    result = subprocess.run(
        [sys.executable, "-m", "lanes.cli", "audit", "release", "HEAD~1..HEAD"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "cannot read the tree of 'HEAD'" in result.stderr and "broken" in result.stderr
