"""End to end: a Cargo package outside the root workspace (a cargo-fuzz ``fuzz/`` the root
excludes, a nested workspace, a standalone package) that depends by path on a workspace crate
compiles it, so a change to that crate selects it; what ``cargo metadata`` run in its own
directory lists as its path packages is what lanes follows.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.lanes.fixtures import commit_all, write_files
from tests.lanes.test_cli_cargo import lanes
from tests.lanes.test_cli_cargo_semantics import detect, make_repo, package

FILES = {
    "Cargo.toml": package("mycrate", '\n[workspace]\nmembers = ["crates/*"]\nexclude = ["fuzz"]\n'),
    "crates/util/Cargo.toml": package("util"),
    "fuzz/Cargo.toml": package(
        "mycrate-fuzz",
        '\n[workspace]\nmembers = ["."]\n\n[dependencies]\nmycrate = { path = ".." }\n'
        'fuzzcommon = { path = "common" }\n',
    ),
    "fuzz/common/Cargo.toml": package("fuzzcommon"),
    "tools/inner/Cargo.toml": '[workspace]\nmembers = ["x"]\nresolver = "2"\n',
    "tools/inner/x/Cargo.toml": package(
        "x", '\n[dev-dependencies]\nutil = { path = "../../../crates/util" }\n'
    ),
    # a fixture that is no package of this repository's builds: no path, so never read
    "tests/fixtures/broken/Cargo.toml": "[package\nname = \n",
    "src/lib.rs": "\n",
}


def _repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", dict(FILES))


def _selected(repo: Path, path: str) -> set[str]:
    data = detect(repo, path)
    assert data["mode"] == "precise", data["failsafe"]
    return set(data["selected"])


def test_packages_of_other_workspaces_are_selected_by_what_they_build(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    assert _selected(repo, "src/lib.rs") == {"mycrate", "mycrate-fuzz"}
    assert _selected(repo, "crates/util/src/lib.rs") == {"util", "x"}
    assert _selected(repo, "fuzz/common/src/lib.rs") == {"fuzzcommon", "mycrate-fuzz"}
    assert _selected(repo, "fuzz/fuzz_targets/t.rs") == {"mycrate-fuzz"}


def test_lanes_check_does_not_hold_them_to_the_root_lock(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    result = lanes(repo, "check")
    assert "not listed by Cargo.lock" not in result.stdout + result.stderr


def test_a_package_that_drops_its_path_dependency_is_no_longer_selected(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    assert "x" in _selected(repo, "crates/util/src/lib.rs")  # warms the cache
    write_files(repo, {"tools/inner/x/Cargo.toml": package("x")})
    commit_all(repo, "x no longer tests with util")
    assert _selected(repo, "crates/util/src/lib.rs") == {"util"}


@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed")
def test_cargo_metadata_of_each_workspace_agrees(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    for workspace in ("fuzz", "tools/inner"):
        metadata = subprocess.run(
            ["cargo", "metadata", "--offline", "--format-version", "1"],
            cwd=repo / workspace,
            capture_output=True,
            check=True,
        )
        data = json.loads(metadata.stdout)
        members = set(data["workspace_members"])
        deps = {node["id"]: [d["pkg"] for d in node["deps"]] for node in data["resolve"]["nodes"]}
        packages = {p["id"]: p for p in data["packages"]}
        for member in members:
            seen, stack = set(), list(deps[member])
            while stack:
                current = stack.pop()
                if current not in seen:
                    seen.add(current)
                    stack += deps[current] if current not in members else []
            for reached in seen - members:
                manifest = Path(packages[reached]["manifest_path"]).resolve()
                lib = (manifest.parent.relative_to(repo.resolve()) / "src/lib.rs").as_posix()
                assert packages[member]["name"] in _selected(repo, lib), (workspace, lib)
