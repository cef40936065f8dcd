"""End to end: a Cargo member whose manifest places a target (``[lib]``, ``[[bin]]`` ...
``path``) or its build script (``package.build``) outside its own directory compiles those files,
so a change to them selects the member's lanes, whoever owns the directory they sit in.

The expected sets are what ``cargo metadata`` reports as each package's ``src_path``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.lanes.fixtures import commit_all, git
from tests.lanes.test_cli_cargo import lanes
from tests.lanes.test_cli_cargo_semantics import detect, make_repo, package

FILES = {
    "Cargo.toml": '[workspace]\nresolver = "2"\nmembers = ["crates/a", "crates/b", "crates/c"]\n',
    "crates/a/Cargo.toml": package(
        "a", 'build = "../c/gen/build.rs"\n\n[lib]\npath = "../b/shared/lib.rs"\n'
    ),
    "crates/b/Cargo.toml": package("b"),
    "crates/b/shared/lib.rs": "pub fn shared() {}\n",
    "crates/c/Cargo.toml": package("c"),
    "crates/c/gen/build.rs": "fn main() {}\n",
    "crates/d/Cargo.toml": package(
        "d", '\n[[bin]]\nname = "tool"\npath = "../../scripts/tool.rs"\n'
    ),
    "scripts/tool.rs": "fn main() {}\n",
}


def _repo(tmp_path: Path, *, with_d: bool = False, config: str | None = None) -> Path:
    files = dict(FILES)
    if with_d:
        files["Cargo.toml"] = files["Cargo.toml"].replace('"crates/c"]', '"crates/c", "crates/d"]')
    else:
        del files["crates/d/Cargo.toml"], files["scripts/tool.rs"]
    if config is not None:
        files["lanes.yml"] = config
    return make_repo(tmp_path / "repo", files)


def test_a_target_in_another_members_directory_selects_both(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    data = detect(repo, "crates/b/shared/lib.rs")
    assert data["mode"] == "precise"
    assert set(data["selected"]) == {"a", "b"}
    assert data["reasons"]["a"][0]["rule"] == "reads crates/b/shared/**"
    assert set(detect(repo, "crates/c/gen/build.rs")["selected"]) == {"a", "c"}
    # b's own sources are not a's
    assert set(detect(repo, "crates/b/src/lib.rs")["selected"]) == {"b"}


def test_a_target_in_an_ignored_directory_still_selects_its_crate(tmp_path: Path) -> None:
    config = (
        "version: 1\nignore: ['scripts/**']\nunmatched: none\n"
        "lanes:\n  d:\n    roots: [d]\n    run: 'true'\n  b:\n    roots: [b]\n    run: 'true'\n"
    )
    repo = _repo(tmp_path, with_d=True, config=config)
    data = detect(repo, "scripts/tool.rs")
    assert data["mode"] == "precise"
    assert data["selected"] == ["d"]
    assert data["ignored"] == []
    # the directory holding a target holds its ``mod`` files too
    assert detect(repo, "scripts/util.rs")["selected"] == ["d"]


def test_with_base_a_target_moved_elsewhere_selects_through_either_graph(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    base = git(repo, "rev-parse", "HEAD").strip()
    manifest = repo / "crates/a/Cargo.toml"
    manifest.write_text(manifest.read_text().replace('path = "../b/shared/lib.rs"\n', ""))
    (repo / "crates/a/src").mkdir(exist_ok=True)
    (repo / "crates/a/src/lib.rs").write_text("\n")
    (repo / "crates/b/shared/lib.rs").write_text("pub fn shared() {}\n// edited\n")
    commit_all(repo, "a's lib moves home")
    result = lanes(repo, "detect", "--no-cache", "--base", base, "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    reasons = {r["path"]: r for r in data["reasons"]["a"] if r["code"] == "dependency"}
    assert reasons["crates/b/shared/lib.rs"]["graph"] == "base"


@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed")
def test_cargo_metadata_agrees_on_where_the_targets_are(tmp_path: Path) -> None:
    repo = _repo(tmp_path, with_d=True)
    metadata = subprocess.run(
        ["cargo", "metadata", "--offline", "--no-deps", "--format-version", "1"],
        cwd=repo,
        capture_output=True,
        check=True,
    )
    for package_data in json.loads(metadata.stdout)["packages"]:
        for target in package_data["targets"]:
            source = Path(target["src_path"]).resolve().relative_to(repo.resolve()).as_posix()
            assert package_data["name"] in detect(repo, source)["selected"], source
