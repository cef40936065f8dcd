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
        '[dependencies]\nmobc = { path = "../mobc", optional = true }\n'
        '[features]\nextra = ["mobc"]\n',
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


# --- discovery: implicit members, absolute and symlinked paths, unresolved dependencies --------


@pytest.fixture(scope="module")
def paths_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("paths") / "repo"
    files = {
        "Cargo.toml": '[workspace]\nmembers = ["app"]\n',
        "app/Cargo.toml": package(
            "app",
            "[dependencies]\n"
            'y = { path = "../vendor/y" }\n'
            f'z = {{ path = "{root}/libs/z" }}\n'
            'l = { path = "../links/l" }\n',
        ),
        # Implicit members are found recursively: vendor/w is a member through vendor/y.
        "vendor/y/Cargo.toml": package("y", '[dependencies]\nw = { path = "../w" }\n'),
        "vendor/w/Cargo.toml": package("w"),
        "libs/z/Cargo.toml": package("z"),
        "real/l/Cargo.toml": package("l"),
    }
    (root / "links").mkdir(parents=True)
    (root / "links" / "l").symlink_to("../real/l", target_is_directory=True)
    return make_repo(root, files)


def test_implicit_members_are_discovered_recursively(paths_repo: Path) -> None:
    assert selected(paths_repo, "vendor/w/src/lib.rs") == {"w", "y", "app"}
    assert selected(paths_repo, "vendor/y/src/lib.rs") == {"y", "app"}


def test_absolute_and_symlinked_path_dependencies_resolve_inside_the_repository(
    paths_repo: Path,
) -> None:
    assert selected(paths_repo, "libs/z/src/lib.rs") == {"z", "app"}
    assert selected(paths_repo, "real/l/src/lib.rs") == {"l", "app"}


UNRESOLVED_CASES = {
    "outside the repository": (
        {"app/Cargo.toml": package("app", '[dependencies]\nx = { path = "../../outside" }\n')},
        "unresolved-dependency: app/Cargo.toml:6",
    ),
    "an absent directory": (
        {"app/Cargo.toml": package("app", '[dependencies]\ng = { path = "../gone" }\n')},
        "unresolved-dependency: app/Cargo.toml:6",
    ),
    "an excluded directory": (
        {
            "Cargo.toml": '[workspace]\nmembers = ["app"]\nexclude = ["side"]\n',
            "app/Cargo.toml": package("app", '[dependencies]\ns = { path = "../side" }\n'),
            "side/Cargo.toml": package("s", "[workspace]\n"),
        },
        "unresolved-dependency: app/Cargo.toml:6",
    ),
    "a member that is not checked out": (
        {"Cargo.toml": '[workspace]\nmembers = [\n  "app",\n  "sparse",\n]\n'},
        "unresolved-dependency: Cargo.toml:2",
    ),
    "a lockfile path package that is not checked out": (
        {
            "Cargo.lock": (
                'version = 4\n\n[[package]]\nname = "app"\nversion = "0.1.0"\n\n'
                '[[package]]\nname = "sparse"\nversion = "0.1.0"\n'
            )
        },
        "unresolved-dependency: Cargo.lock:8",
    ),
}


@pytest.mark.parametrize("case", sorted(UNRESOLVED_CASES))
def test_a_dependency_that_lands_nowhere_is_fail_safe(case: str, tmp_path: Path) -> None:
    files, code = UNRESOLVED_CASES[case]
    repo = make_repo(
        tmp_path / "repo",
        {
            "Cargo.toml": '[workspace]\nmembers = ["app"]\n',
            "app/Cargo.toml": package("app"),
            **files,
        },
    )
    data = detect(repo, "app/src/lib.rs")
    assert data["mode"] == "fail-safe"
    assert code in data["failsafe"]


# --- Cargo.lock: a second source of edges; workspace inputs -----------------------------------


LOCKED = {
    "Cargo.toml": '[workspace]\nmembers = ["crates/*"]\n',
    "crates/a/Cargo.toml": package("a"),
    "crates/b/Cargo.toml": package("b"),
    "Cargo.lock": (
        'version = 4\n\n[[package]]\nname = "a"\nversion = "0.1.0"\ndependencies = [\n'
        ' "b",\n "serde",\n]\n\n[[package]]\nname = "b"\nversion = "0.1.0"\n\n'
        '[[package]]\nname = "serde"\nversion = "1.0.0"\n'
        'source = "registry+https://github.com/rust-lang/crates.io-index"\n'
    ),
    "lanes.yml": (
        "version: 1\nlanes:\n  a:\n    roots: [a]\n  b:\n    roots: [b]\n"
        "  audit:\n    paths: [deny.toml]\n"
    ),
}


def test_an_edge_only_the_lockfile_records_is_followed_and_explained(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", dict(LOCKED))
    assert selected(repo, "crates/b/src/lib.rs") == {"a", "b"}
    result = lanes(repo, "explain", "--format", "json", "crates/b/src/lib.rs")
    chain = json.loads(result.stdout)[0]["selects"]["a"]["chain"]
    assert chain[-1] == {"component": "b", "edge": "normal+lockfile-edge"}


CHECKED_LANES = (
    "version: 1\nlanes:\n  a:\n    roots: [a]\n    run: cargo test -p a\n"
    "  b:\n    roots: [b]\n    run: cargo test -p b\n"
)


def test_check_reports_a_lockfile_that_disagrees_with_the_manifests(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {**LOCKED, "lanes.yml": CHECKED_LANES})

    warned = lanes(repo, "check")
    assert warned.returncode == 0, warned.stdout + warned.stderr
    assert "warn lanes.yml: a -> b (normal) is recorded by Cargo.lock" in warned.stderr
    assert "but by no manifest" in warned.stderr

    strict = lanes(repo, "check", "--strict")
    assert strict.returncode == 1
    assert "FAIL lanes.yml: a -> b (normal) is recorded by Cargo.lock" in strict.stdout


def test_check_is_quiet_about_a_lockfile_that_agrees(tmp_path: Path) -> None:
    files = {**LOCKED, "lanes.yml": CHECKED_LANES}
    files["crates/a/Cargo.toml"] = package("a", '[dependencies]\nb = { path = "../b" }\n')
    repo = make_repo(tmp_path / "repo", files)

    result = lanes(repo, "check", "--strict")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "recorded by" not in result.stdout + result.stderr


def test_check_reports_a_manifest_edge_the_lockfile_does_not_record(tmp_path: Path) -> None:
    """A path dependency added without ``cargo update -w``: the lock is stale; lanes follows
    the manifest (selection unchanged), ``lanes check`` warns, ``--strict`` fails."""
    files = {**LOCKED, "lanes.yml": CHECKED_LANES}
    files["crates/b/Cargo.toml"] = package(
        "b", '[dev-dependencies]\nx = { path = "../a", package = "a" }\n'
    )
    files["crates/a/Cargo.toml"] = package("a", '[dependencies]\nb = { path = "../b" }\n')
    repo = make_repo(tmp_path / "repo", files)
    assert selected(repo, "crates/a/src/lib.rs") == {"a", "b"}

    warned = lanes(repo, "check")
    assert warned.returncode == 0, warned.stdout + warned.stderr
    expected = (
        "b -> a (dev) is stated by crates/b/Cargo.toml but not recorded by Cargo.lock: lanes "
        "follows the manifest; the lock is stale: run cargo update --workspace"
    )
    assert f"warn lanes.yml: {expected}" in warned.stderr
    assert "a -> b" not in warned.stderr  # the lock records that one

    strict = lanes(repo, "check", "--strict")
    assert strict.returncode == 1
    assert f"FAIL lanes.yml: {expected}" in strict.stdout


def test_check_reports_a_member_the_lockfile_does_not_list(tmp_path: Path) -> None:
    files = {**LOCKED, "lanes.yml": CHECKED_LANES}
    files["crates/a/Cargo.toml"] = package("a", '[dependencies]\nb = { path = "../b" }\n')
    files["crates/c/Cargo.toml"] = package("c", '[dependencies]\na = { path = "../a" }\n')
    repo = make_repo(tmp_path / "repo", files)

    warned = lanes(repo, "check")
    assert warned.returncode == 0, warned.stdout + warned.stderr
    assert (
        "warn lanes.yml: c (crates/c/Cargo.toml) is not listed by Cargo.lock: lanes follows the "
        "manifests; the lock is stale: run cargo update --workspace"
    ) in warned.stderr
    assert "c -> a" not in warned.stderr  # the member is reported, not each of its edges
    assert lanes(repo, "check", "--strict").returncode == 1


def test_check_says_nothing_new_without_a_lockfile(tmp_path: Path) -> None:
    files = {**LOCKED, "lanes.yml": CHECKED_LANES}
    del files["Cargo.lock"]
    files["crates/a/Cargo.toml"] = package("a", '[dependencies]\nb = { path = "../b" }\n')
    repo = make_repo(tmp_path / "repo", files)
    result = lanes(repo, "check", "--strict")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "lock" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "path", ["Cargo.lock", "Cargo.toml", "rust-toolchain.toml", ".cargo/config.toml"]
)
def test_workspace_inputs_select_every_lane_without_a_global_rule(
    path: str, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", dict(LOCKED))
    data = detect(repo, path)
    assert data["selected"] == ["a", "b", "audit"] and data["mode"] == "precise"
    assert data["reasons"]["audit"][0]["rule"] == "workspace input"


# --- ownership: a root package owns its own sources only ----------------------------------------


def test_root_package_owns_its_sources_not_the_repository(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {
            "Cargo.toml": package(
                "rootpkg",
                '[workspace]\nmembers = ["crates/*"]\n\n[[bin]]\nname = "tool"\n'
                'path = "tools/tool.rs"\n\n[dependencies]\na = { path = "crates/a" }\n',
            ),
            "crates/a/Cargo.toml": package("a"),
            "src/main.rs": "fn main() {}\n",
            "build.rs": "fn main() {}\n",
            "tools/tool.rs": "fn main() {}\n",
            "deny.toml": "[licenses]\n",
            "scripts/release.sh": "echo\n",
            "lanes.yml": (
                "version: 1\nlanes:\n  root:\n    roots: [rootpkg]\n  a:\n    roots: [a]\n"
            ),
        },
    )
    for path in ("src/main.rs", "build.rs", "tools/tool.rs", "README.md"):
        assert selected(repo, path) == {"root"}, path
    assert selected(repo, "crates/a/src/lib.rs") == {"root", "a"}
    for path in ("deny.toml", "scripts/release.sh"):
        data = detect(repo, path)
        assert data["mode"] == "fail-safe" and data["unmatched"] == [path], path


def test_root_package_named_in_lanes_yml_keeps_owning_only_its_sources(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {
            "Cargo.toml": package("rootpkg", '[workspace]\nmembers = ["crates/*"]\n'),
            "crates/a/Cargo.toml": package("a"),
            "deny.toml": "[licenses]\n",
            "lanes.yml": (
                "version: 1\ncomponents:\n  rootpkg:\n    depends_on: [a]\n"
                "lanes:\n  root:\n    roots: [rootpkg]\n"
            ),
        },
    )
    assert selected(repo, "src/lib.rs") == {"root"}
    assert selected(repo, "crates/a/src/lib.rs") == {"root"}
    assert detect(repo, "deny.toml")["unmatched"] == ["deny.toml"]


def test_a_dev_dependency_on_itself_turns_on_features_for_its_tests(tmp_path: Path) -> None:
    # ``cargo test -p me`` builds me with ``extra`` (cargo tree shows opt), ``cargo build`` of
    # a dependent does not.
    repo = make_repo(
        tmp_path / "repo",
        {
            "Cargo.toml": '[workspace]\nmembers = ["me", "opt", "user"]\n',
            "me/Cargo.toml": package(
                "me",
                '[dependencies]\nopt = { path = "../opt", optional = true }\n'
                '[dev-dependencies]\nme = { path = ".", features = ["extra"] }\n'
                '[features]\nextra = ["dep:opt"]\n',
            ),
            "opt/Cargo.toml": package("opt"),
            "user/Cargo.toml": package("user", '[dependencies]\nme = { path = "../me" }\n'),
        },
    )
    assert selected(repo, "opt/src/lib.rs") == {"me", "opt"}
