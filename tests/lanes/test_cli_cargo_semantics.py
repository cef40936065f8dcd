"""End to end: Cargo semantics that decide coverage (features, implicit members, path
resolution, Cargo.lock, root package ownership), with ``lanes detect`` on real git repositories.

Without a ``lanes.yml`` every crate is its own lane, so a selection reads as "the crates whose
``cargo build``/``cargo test`` compiles the change". The expected sets are the ones Cargo gives
(``test_cargo_differential.py`` checks the same rules against ``cargo tree``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.lanes.fixtures import commit_all, git, write_files
from tests.lanes.test_cli_cargo import lanes


def package(name: str, body: str = "") -> str:
    return f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n{body}'


def make_repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q")
    for relative in list(files):
        if relative.endswith("Cargo.toml") and "[package]" in files[relative]:
            files.setdefault(f"{os.path.dirname(relative) or '.'}/src/lib.rs".lstrip("./"), "\n")
    write_files(root, files)
    commit_all(root, "initial")
    return root


def detect(repo: Path, *paths: str, expect_rc: int = 0) -> dict[str, Any]:
    stdin = "".join(f"{p}\n" for p in paths).encode()
    result = lanes(repo, "detect", "--format", "json", "--paths-from-stdin", stdin=stdin)
    assert result.returncode == expect_rc, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def selected(repo: Path, path: str) -> set[str]:
    data = detect(repo, path)
    assert data["mode"] == "precise", data["failsafe"]
    return set(data["selected"])


# --- features --------------------------------------------------------------------------------

FEATURE_FILES = {
    "Cargo.toml": (
        '[workspace]\nresolver = "2"\nmembers = ["crates/*"]\n\n'
        "[workspace.dependencies]\n"
        'app = { path = "crates/app", default-features = false }\n'
    ),
    "crates/core/Cargo.toml": package("core"),
    "crates/mobc/Cargo.toml": package("mobc"),
    "crates/tele/Cargo.toml": package("tele"),
    "crates/app/Cargo.toml": package(
        "app",
        "[dependencies]\n"
        'core = { path = "../core" }\n'
        'mobc = { path = "../mobc", optional = true }\n'
        'tele = { path = "../tele", optional = true }\n'
        '[features]\ndefault = ["mob"]\nmob = ["dep:mobc"]\ntelemetry = ["dep:tele"]\n',
    ),
    # default-features = false: app without its default ``mob``.
    "crates/lean/Cargo.toml": package(
        "lean", '[dependencies]\napp = { path = "../app", default-features = false }\n'
    ),
    # A feature requested by a dependent, on top of app's defaults.
    "crates/wants-tele/Cargo.toml": package(
        "wants-tele", '[dependencies]\napp = { path = "../app", features = ["telemetry"] }\n'
    ),
    # ``x/feat`` from the crate's own default feature.
    "crates/slash/Cargo.toml": package(
        "slash",
        '[dependencies]\napp = { path = "../app", default-features = false }\n'
        '[features]\ndefault = ["app/telemetry"]\n',
    ),
    # Weak ``x?/feat`` with x off: nothing of app is built.
    "crates/weak-off/Cargo.toml": package(
        "weak-off",
        '[dependencies]\napp = { path = "../app", optional = true, default-features = false }\n'
        '[features]\ndefault = ["app?/telemetry"]\n',
    ),
    # Weak ``x?/feat`` with x on through its implicit feature.
    "crates/weak-on/Cargo.toml": package(
        "weak-on",
        '[dependencies]\napp = { path = "../app", optional = true, default-features = false }\n'
        '[features]\ndefault = ["app?/telemetry", "app"]\n',
    ),
    # The implicit feature of an optional dependency (no ``dep:`` anywhere).
    "crates/implicit/Cargo.toml": package(
        "implicit",
        '[dependencies]\nmobc = { path = "../mobc", optional = true }\n'
        '[features]\ndefault = ["mobc"]\n',
    ),
    # Workspace inheritance: default-features = false from the workspace, features added.
    "crates/inherits/Cargo.toml": package(
        "inherits", '[dependencies]\napp = { workspace = true, features = ["telemetry"] }\n'
    ),
    # A renamed optional dependency enabled by its key.
    "crates/renamed/Cargo.toml": package(
        "renamed",
        '[dependencies]\nmine = { package = "tele", path = "../tele", optional = true }\n'
        '[features]\ndefault = ["dep:mine"]\n',
    ),
    # Optional and off by default: only an --all-features build compiles it.
    "crates/optional-off/Cargo.toml": package(
        "optional-off",
        '[dependencies]\nmobc = { path = "../mobc", optional = true }\n[features]\nextra = ["mobc"]\n',
    ),
}


@pytest.fixture(scope="module")
def features_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("features") / "repo", dict(FEATURE_FILES))


def test_default_feature_enables_optional_dependency(features_repo: Path) -> None:
    assert selected(features_repo, "crates/mobc/src/lib.rs") == {
        "mobc",
        "app",
        "wants-tele",
        "implicit",
    }


def test_features_requested_along_the_way_enable_optional_dependency(features_repo: Path) -> None:
    assert selected(features_repo, "crates/tele/src/lib.rs") == {
        "tele",
        "wants-tele",
        "slash",
        "weak-on",
        "inherits",
        "renamed",
    }


def test_non_optional_edges_ignore_features(features_repo: Path) -> None:
    everyone = {"core", "app", "lean", "wants-tele", "slash", "weak-on", "inherits"}
    assert selected(features_repo, "crates/core/src/lib.rs") == everyone


def test_explain_names_the_feature_that_enabled_the_edge(features_repo: Path) -> None:
    result = lanes(features_repo, "explain", "--format", "json", "crates/mobc/src/lib.rs")
    report = json.loads(result.stdout)[0]
    chain = report["selects"]["app"]["chain"]
    assert chain[-1]["component"] == "mobc"
    assert chain[-1]["edge"] == "normal+optional via app/default > mob"


def test_lane_features_none_and_all(features_repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(features_repo), str(clone))
    write_files(
        clone,
        {
            "lanes.yml": (
                "version: 1\nlanes:\n"
                "  bare:\n    roots: [app]\n    features: none\n"
                "  default:\n    roots: [app]\n"
                "  everything:\n    roots: [app]\n    features: all\n"
                "  listed:\n    roots: [app]\n    features: [telemetry]\n"
                "  deep:\n    roots: [lean]\n    features: [app/telemetry]\n"
                "  legacy:\n    roots: [optional-off]\n    include_optional: true\n"
            )
        },
    )
    commit_all(clone, "lanes.yml")
    # A list adds to the default features, as ``cargo build --features`` does; ``crate/feature``
    # turns on a feature of a crate below the roots.
    mobc = {"default", "everything", "listed", "legacy"}
    assert selected(clone, "crates/mobc/src/lib.rs") == mobc
    assert selected(clone, "crates/tele/src/lib.rs") == {"everything", "listed", "deep"}
