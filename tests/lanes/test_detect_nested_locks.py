"""``lanes detect --base``: the ``Cargo.lock`` of a nested workspace (a cargo-fuzz ``fuzz/`` with
its own ``[workspace]``) and of a workspace in a subdirectory (``rust/`` with no top-level
``Cargo.toml``) diffed package by package as the top-level lock is, scoped to that workspace's
members, on real git repositories through the real CLI.

Every lock is written by the real cargo, offline: a local registry outside the repository
(index plus ``.crate`` files, as in ``test_lockdiff_cargo``) stands in for crates.io, and
``cargo update --precise`` bumps one package as a developer would.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.lanes.fixtures import clone, commit_all, write_files
from tests.lanes.test_cli_cargo_semantics import make_repo, package
from tests.lanes.test_detect_graphs import detect, reasons
from tests.lanes.test_lockdiff_cargo import _crate

CARGO = shutil.which("cargo")
pytestmark = pytest.mark.skipif(CARGO is None, reason="cargo writes the locks")

CRATES = {"cfg-if": ("1.0.0", "1.0.1"), "itoa": ("1.0.0", "1.0.1"), "serde": ("1.0.190", "1.0.192")}
BASE_VERSIONS = {"cfg-if": "1.0.0", "itoa": "1.0.0", "serde": "1.0.190"}

FILES = {
    "Cargo.toml": '[workspace]\nmembers = ["crates/*"]\nexclude = ["fuzz"]\nresolver = "2"\n',
    "crates/core/Cargo.toml": package("core", '\n[dependencies]\ncfg-if = "1"\n'),
    "crates/tool/Cargo.toml": package("tool", '\n[dependencies]\nserde = "1"\n'),
    # cargo-fuzz: the fuzz package roots a workspace of its own, with two more members
    "fuzz/Cargo.toml": package(
        "app-fuzz",
        '\n[workspace]\nmembers = [".", "alpha", "beta"]\n\n'
        '[dependencies]\ncore = { path = "../crates/core" }\n',
    ),
    "fuzz/alpha/Cargo.toml": package(
        "fuzz-alpha", '\n[dependencies]\ncore = { path = "../../crates/core" }\nserde = "1"\n'
    ),
    "fuzz/beta/Cargo.toml": package(
        "fuzz-beta", '\n[dependencies]\ncore = { path = "../../crates/core" }\nitoa = "1"\n'
    ),
}
FUZZ_WORKSPACE = {"app-fuzz", "fuzz-alpha", "fuzz-beta"}
EVERY_LANE = {"core", "tool", *FUZZ_WORKSPACE}


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    found = tmp_path_factory.mktemp("registry")
    for name, versions in CRATES.items():
        for version in versions:
            _crate(found, name, version, [])
    return found


def cargo(registry: Path, directory: Path, *args: str) -> str:
    """``cargo args --offline`` in ``directory``, crates.io replaced by ``registry``; returns
    the lock it leaves there."""
    assert CARGO is not None
    config = ('source.crates-io.replace-with="local"', f'source.local.local-registry="{registry}"')
    flags = [part for setting in config for part in ("--config", setting)]
    subprocess.run(
        [CARGO, *flags, *args, "--offline"], cwd=directory, check=True, capture_output=True
    )
    return (directory / "Cargo.lock").read_text()


def pinned(registry: Path, directory: Path, versions: dict[str, str]) -> str:
    """The lock cargo writes in ``directory`` with each package of ``versions`` it locks at
    that version."""
    lock = cargo(registry, directory, "generate-lockfile")
    for name, version in versions.items():
        if f'name = "{name}"' in lock:
            lock = cargo(registry, directory, "update", "-p", name, "--precise", version)
    return lock


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, registry: Path) -> Path:
    repo = make_repo(tmp_path_factory.mktemp("nested-locks") / "ws", dict(FILES))
    for directory in (repo, repo / "fuzz"):
        pinned(registry, directory, BASE_VERSIONS)
    commit_all(repo, "the locks cargo wrote")
    return repo


@pytest.fixture
def repo(template: Path, tmp_path: Path) -> Path:
    return clone(template, tmp_path / "repo")


def committed(repo: Path, files: dict[str, str] | None = None) -> dict[str, Any]:
    """``files`` written (else what cargo changed) and committed, then ``lanes detect --base
    HEAD~1``."""
    write_files(repo, files or {})
    commit_all(repo, "change")
    return detect(repo)


def test_the_nested_lock_records_the_fuzz_workspace_and_the_crate_it_builds(
    template: Path,
) -> None:
    lock = (template / "fuzz/Cargo.lock").read_text()
    for name in ("app-fuzz", "fuzz-alpha", "fuzz-beta", "core", "serde", "itoa", "cfg-if"):
        assert f'name = "{name}"' in lock
    assert 'name = "tool"' not in lock and 'version = "1.0.190"' in lock


def test_a_bump_one_nested_member_reaches_selects_only_its_lanes(
    repo: Path, registry: Path
) -> None:
    cargo(registry, repo / "fuzz", "update", "-p", "serde", "--precise", "1.0.192")
    data = committed(repo)
    assert data["mode"] == "precise", data["failsafe"]
    assert data["selected"] == ["fuzz-alpha"]
    (found,) = reasons(data, "fuzz-alpha", "lockfile-change")
    assert found["detail"] == "serde 1.0.190 -> 1.0.192"
    assert found["path"] == "fuzz/Cargo.lock" and found["component"] == "fuzz-alpha"


def test_a_bump_every_nested_member_reaches_selects_the_nested_workspace_only(
    repo: Path, registry: Path
) -> None:
    # cfg-if is core's: core reaches it in the fuzz lock too, but core's own lanes build it with
    # the top lock; the fuzz members reach it through core
    cargo(registry, repo / "fuzz", "update", "-p", "cfg-if", "--precise", "1.0.1")
    data = committed(repo)
    assert data["mode"] == "precise", data["failsafe"]
    assert set(data["selected"]) == FUZZ_WORKSPACE
    for lane in FUZZ_WORKSPACE:
        (found,) = reasons(data, lane, "lockfile-change")
        assert found["detail"] == "cfg-if 1.0.0 -> 1.0.1"
        assert not reasons(data, lane, "dependency")


def test_a_change_to_another_workspaces_entry_marks_the_nested_members_building_it(
    repo: Path,
) -> None:
    # core's own entry changes (written by hand: it drops cfg-if) and no nested member's does,
    # but each of them builds core with what this lock resolves
    lock = (repo / "fuzz/Cargo.lock").read_text()
    entry = 'name = "core"\nversion = "0.1.0"\n'
    assert f'{entry}dependencies = [\n "cfg-if",\n]\n' in lock
    data = committed(
        repo, {"fuzz/Cargo.lock": lock.replace(f'{entry}dependencies = [\n "cfg-if",\n]\n', entry)}
    )
    assert data["mode"] == "precise", data["failsafe"]
    assert set(data["selected"]) == FUZZ_WORKSPACE
    (found,) = reasons(data, "fuzz-beta", "lockfile-change")
    assert found["detail"] == "core 0.1.0 -> 0.1.0 (dependencies changed) (through core)"


def test_an_unparsable_nested_lock_is_fail_safe(repo: Path) -> None:
    broken = (repo / "fuzz/Cargo.lock").read_text() + "[[package]\n"
    data = committed(repo, {"fuzz/Cargo.lock": broken})
    assert data["mode"] == "fail-safe"
    assert any(code.startswith("manifest-error: fuzz/Cargo.lock:") for code in data["failsafe"])
    assert set(data["selected"]) == EVERY_LANE
    (found,) = [r for r in data["reasons"]["fuzz-beta"] if r.get("path") == "fuzz/Cargo.lock"]
    assert found["code"] == "dependency" and found["rule"] == "reads fuzz/Cargo.lock"
    assert found["detail"].startswith("not refined: fuzz/Cargo.lock:")


def test_a_nested_change_no_member_reaches_selects_the_whole_nested_workspace(
    repo: Path,
) -> None:
    lock = (repo / "fuzz/Cargo.lock").read_text()
    assert "\nversion = 4\n" in lock
    data = committed(repo, {"fuzz/Cargo.lock": lock.replace("\nversion = 4\n", "\nversion = 3\n")})
    assert data["mode"] == "precise", data["failsafe"]
    assert set(data["selected"]) == FUZZ_WORKSPACE
    for lane in FUZZ_WORKSPACE:
        (found,) = reasons(data, lane, "dependency")
        assert found["detail"] == "not refined: fuzz/Cargo.lock: version changed"


def test_the_top_level_lock_is_refined_as_before(repo: Path, registry: Path) -> None:
    cargo(registry, repo, "update", "-p", "serde", "--precise", "1.0.192")
    data = committed(repo)
    assert data["mode"] == "precise", data["failsafe"]
    assert data["selected"] == ["tool"]  # fuzz-alpha builds serde with the fuzz lock
    (found,) = reasons(data, "tool", "lockfile-change")
    assert found["path"] == "Cargo.lock" and found["detail"] == "serde 1.0.190 -> 1.0.192"


# --- a workspace in a subdirectory, no top-level Cargo.toml ------------------------------------

SUBDIR = {
    "rust/Cargo.toml": '[workspace]\nmembers = ["a", "b"]\nresolver = "2"\n',
    "rust/a/Cargo.toml": package("a", '\n[dependencies]\nitoa = "1"\n'),
    "rust/b/Cargo.toml": package("b", '\n[dependencies]\na = { path = "../a" }\nserde = "1"\n'),
}


def subdir_repo(tmp_path: Path, registry: Path, extra: dict[str, str]) -> Path:
    """:data:`SUBDIR` and ``extra`` with the lock cargo writes, then serde bumped in it and
    committed."""
    repo = make_repo(tmp_path / "repo", {**SUBDIR, **extra})
    pinned(registry, repo / "rust", BASE_VERSIONS)
    commit_all(repo, "the lock cargo wrote")
    cargo(registry, repo / "rust", "update", "-p", "serde", "--precise", "1.0.192")
    commit_all(repo, "bump serde")
    return repo


def test_a_subdirectory_lock_bump_selects_only_the_members_reaching_it(
    tmp_path: Path, registry: Path
) -> None:
    data = detect(subdir_repo(tmp_path, registry, {}))
    assert data["mode"] == "precise", data["failsafe"]
    assert data["selected"] == ["b"]  # b depends on a, but a does not reach serde
    (found,) = reasons(data, "b", "lockfile-change")
    assert found["path"] == "rust/Cargo.lock" and found["detail"] == "serde 1.0.190 -> 1.0.192"


def test_an_owner_outside_the_locks_workspace_keeps_its_lanes(
    tmp_path: Path, registry: Path
) -> None:
    # a root Python project owns every file no Rust package owns, rust/Cargo.lock among them
    pyproject = '[project]\nname = "app"\nversion = "0.1.0"\n'
    data = detect(subdir_repo(tmp_path, registry, {"pyproject.toml": pyproject}))
    assert data["mode"] == "precise", data["failsafe"]
    assert data["selected"] == ["app", "b"]
    (owned,) = reasons(data, "app", "dependency")
    assert owned["path"] == "rust/Cargo.lock" and owned["component"] == "app"
