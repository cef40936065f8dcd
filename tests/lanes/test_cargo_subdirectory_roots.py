"""End to end: a repository with no top-level ``Cargo.toml`` whose Cargo workspaces (or
standalone packages) sit in subdirectories (``rust/Cargo.toml`` in a polyglot repository,
``native/Cargo.toml`` beside a Python package). Every top-most tracked ``Cargo.toml`` is read as
a workspace root of its own, as Cargo reads it when run in that directory: its members, its
``[workspace.dependencies]``, its ``[patch]``, its ``Cargo.lock`` (edges, unresolved path
packages) and its root files as inputs of that workspace's components only. The differential
tests compare the edges with ``cargo metadata`` run in each top-most root.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lanes import cache
from lanes.discovery import cargo as cargo_discovery
from lanes.model import LOCKFILE_EDGE, Discovery
from lanes.workspace import load_workspace
from tests.lanes import cargo_gen
from tests.lanes.fixtures import commit_all, git, write_files
from tests.lanes.test_cache_cargo import located_and_read
from tests.lanes.test_cargo_nested_workspaces import _cargo, _compare_with_cargo, _lock
from tests.lanes.test_cli_cargo import detect_json, lanes
from tests.lanes.test_cli_cargo_semantics import detect, make_repo, package

RUST_WS = (
    '[workspace]\nmembers = ["a", "b"]\nresolver = "2"\n\n[workspace.dependencies]\n'
    'b = { path = "b", features = ["fast"] }\n'
)
SUBDIR = {
    "README.md": "a polyglot repository\n",
    "rust/Cargo.toml": RUST_WS,
    "rust/a/Cargo.toml": package("a", "\n[dependencies]\nb.workspace = true\n"),
    "rust/b/Cargo.toml": package("b", "\n[features]\nfast = []\n"),
    # a standalone package beside the workspace: its own root
    "tools/cli/Cargo.toml": package("cli"),
}
SIBLINGS = {
    **SUBDIR,
    "engine/Cargo.toml": '[workspace]\nmembers = ["core", "ext"]\nresolver = "2"\n',
    "engine/core/Cargo.toml": package("core"),
    "engine/ext/Cargo.toml": package(
        "ext", '\n[dependencies]\nb = { path = "../../rust/b" }\ncore = { path = "../core" }\n'
    ),
}
POLYGLOT = {
    "pyproject.toml": '[project]\nname = "app"\nversion = "0.1.0"\n',
    "app/__init__.py": "\n",
    **SUBDIR,
}
STANDALONE = {
    "native/Cargo.toml": package("native"),
    "bindings/Cargo.toml": package(
        "bindings", '\n[dependencies]\nnative = { path = "../native" }\n'
    ),
    "other/Cargo.toml": package("other"),
}


def _selected(repo: Path, path: str) -> set[str]:
    data = detect(repo, path)
    assert data["mode"] == "precise", (path, data["failsafe"])
    return set(data["selected"])


def _discovered(repo: Path) -> Discovery:
    return cargo_discovery.parse(repo, cargo_discovery.locate(repo))


@pytest.fixture(scope="module")
def subdir_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("subdir") / "repo", dict(SUBDIR))


@pytest.fixture(scope="module")
def siblings_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("siblings") / "repo", dict(SIBLINGS))


@pytest.fixture(scope="module")
def polyglot_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("polyglot") / "repo", dict(POLYGLOT))


@pytest.fixture(scope="module")
def standalone_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("standalone") / "repo", dict(STANDALONE))


# --- a workspace in a subdirectory ------------------------------------------------------------

SUBDIR_SELECTIONS = {
    "rust/b/src/lib.rs": {"a", "b"},
    "rust/a/src/lib.rs": {"a"},
    "tools/cli/src/lib.rs": {"cli"},
    # the root's inputs select its workspace's components only
    "rust/Cargo.toml": {"a", "b"},
    "rust/Cargo.lock": {"a", "b"},
    "rust/rust-toolchain.toml": {"a", "b"},
    "rust/.cargo/config.toml": {"a", "b"},
    "tools/cli/Cargo.lock": {"cli"},
    # Cargo and rustup read the repository top's configuration from every directory below
    ".cargo/config.toml": {"a", "b", "cli"},
    "rust-toolchain.toml": {"a", "b", "cli"},
}


@pytest.mark.parametrize("path", sorted(SUBDIR_SELECTIONS))
def test_a_workspace_in_a_subdirectory_is_read_as_cargo_reads_it_there(
    subdir_repo: Path, path: str
) -> None:
    assert _selected(subdir_repo, path) == SUBDIR_SELECTIONS[path]


def test_the_subdirectory_root_is_no_global_input(subdir_repo: Path) -> None:
    found = _discovered(subdir_repo)
    assert found.errors == []
    assert found.global_inputs == []
    assert {"rust/Cargo.toml", "rust/Cargo.lock", "tools/cli/Cargo.lock"} <= set(found.manifests)
    edges = {(e.source, e.target): e for e in found.edges}
    assert edges["a", "b"].features == ("fast",)  # inherited from rust/Cargo.toml


def test_an_edge_only_the_subdirectory_lock_records_is_followed(tmp_path: Path) -> None:
    lock = _lock(("a", ["b"]), ("b", []))
    files = {
        **SUBDIR,
        "rust/a/Cargo.toml": package("a"),
        "rust/Cargo.lock": lock,
        "tools/cli/Cargo.lock": _lock(("cli", [])),
    }
    repo = make_repo(tmp_path / "repo", files)
    found = _discovered(repo)
    assert [(e.source, e.target, e.dep) for e in found.edges if e.lockfile_only] == [
        ("a", "b", f"{LOCKFILE_EDGE}b")
    ]
    assert _selected(repo, "rust/b/src/lib.rs") == {"a", "b"}


def test_two_sibling_workspaces_with_a_cross_path_dependency(siblings_repo: Path) -> None:
    assert _selected(siblings_repo, "rust/b/src/lib.rs") == {"a", "b", "ext"}
    assert _selected(siblings_repo, "engine/core/src/lib.rs") == {"core", "ext"}
    assert _selected(siblings_repo, "engine/Cargo.lock") == {"core", "ext"}
    # rust's inputs select its components' lanes: ext's lane builds b too (as with nested roots)
    assert _selected(siblings_repo, "rust/Cargo.lock") == {"a", "b", "ext"}
    assert _selected(siblings_repo, "rust/a/Cargo.toml") == {"a"}


def test_a_rust_change_in_a_polyglot_repository_selects_precisely(polyglot_repo: Path) -> None:
    assert _selected(polyglot_repo, "rust/b/src/lib.rs") == {"a", "b"}
    assert _selected(polyglot_repo, "rust/a/src/lib.rs") == {"a"}
    assert _selected(polyglot_repo, "app/__init__.py") == {"app"}


POLYGLOT_LANES = (
    "version: 1\nlanes:\n  rust:\n    roots: [a]\n  cli:\n    roots: [cli]\n"
    "  py:\n    roots: [app]\n"
)
CONFIGURED_SELECTIONS = {
    "rust/b/src/lib.rs": {"rust"},
    "rust/Cargo.lock": {"rust"},
    "rust/rust-toolchain.toml": {"rust"},
    "tools/cli/Cargo.lock": {"cli"},
    # the repository top's: inputs of every Cargo component, not global
    ".cargo/config.toml": {"rust", "cli"},
    ".cargo/config": {"rust", "cli"},
    "rust-toolchain": {"rust", "cli"},
    "rust-toolchain.toml": {"rust", "cli"},
    "python/app/__init__.py": {"py"},
}


@pytest.fixture(scope="module")
def configured_polyglot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # the Python project in a directory of its own: a root one would own every file no Rust
    # package owns (rust/Cargo.lock too), as a root project owns its directory
    files = {
        **SUBDIR,
        "python/pyproject.toml": POLYGLOT["pyproject.toml"],
        "python/app/__init__.py": "\n",
        "lanes.yml": POLYGLOT_LANES,
    }
    return make_repo(tmp_path_factory.mktemp("configured") / "repo", files)


@pytest.mark.parametrize("path", sorted(CONFIGURED_SELECTIONS))
def test_with_lanes_a_polyglot_change_selects_only_the_lanes_that_build_it(
    configured_polyglot: Path, path: str
) -> None:
    assert _selected(configured_polyglot, path) == CONFIGURED_SELECTIONS[path]


# --- standalone top-most packages -------------------------------------------------------------


def test_standalone_top_most_packages_are_roots_of_their_own(standalone_repo: Path) -> None:
    assert _selected(standalone_repo, "native/src/lib.rs") == {"native", "bindings"}
    assert _selected(standalone_repo, "bindings/Cargo.lock") == {"bindings"}
    assert _selected(standalone_repo, "other/src/lib.rs") == {"other"}
    assert _discovered(standalone_repo).errors == []


def test_a_standalone_package_builds_with_its_own_cargo_config(tmp_path: Path) -> None:
    files = {
        **STANDALONE,
        "other/Cargo.toml": package("other", '\n[dependencies]\nserde = "1"\n'),
        "other/.cargo/config.toml": '[patch.crates-io]\nserde = { path = "../vendor/serde" }\n',
        "vendor/serde/Cargo.toml": package("serde").replace("0.1.0", "1.0.0"),
    }
    repo = make_repo(tmp_path / "repo", files)
    assert _selected(repo, "vendor/serde/src/lib.rs") == {"serde", "other"}


# --- what lands nowhere is fail-safe ----------------------------------------------------------

UNRESOLVED_CASES = {
    "a key the subdirectory root does not define": (
        {"rust/a/Cargo.toml": package("a", "\n[dependencies]\nghost.workspace = true\n")},
        "manifest-error: rust/a/Cargo.toml:7",
    ),
    "a standalone package inheriting from no root": (
        {"tools/cli/Cargo.toml": package("cli", "\n[dependencies]\nb.workspace = true\n")},
        "manifest-error: tools/cli/Cargo.toml:7",
    ),
    "a path to an absent directory": (
        {"rust/a/Cargo.toml": package("a", '\n[dependencies]\ngone = { path = "../gone" }\n')},
        "unresolved-dependency: rust/a/Cargo.toml:7",
    ),
    "a member that is not checked out": (
        {"rust/Cargo.toml": RUST_WS.replace('"a", "b"', '"a", "b", "sparse"')},
        "unresolved-dependency: rust/Cargo.toml:2",
    ),
    "a subdirectory root that does not parse": (
        {"rust/Cargo.toml": RUST_WS.replace('resolver = "2"', "resolver = ")},
        "manifest-error: rust/Cargo.toml:3",
    ),
    "a path package of the subdirectory lock that no member provides": (
        {"rust/Cargo.lock": _lock(("a", []), ("b", []), ("ghost", []))},
        "unresolved-dependency: rust/Cargo.lock:12",
    ),
    "a top-most manifest with neither [package] nor [workspace]": (
        {"tools/cli/Cargo.toml": '[dependencies]\nb = { path = "../../rust/b" }\n'},
        "manifest-error: tools/cli/Cargo.toml",
    ),
}


@pytest.mark.parametrize("case", sorted(UNRESOLVED_CASES))
def test_what_a_subdirectory_root_names_and_lands_nowhere_is_fail_safe(
    case: str, tmp_path: Path
) -> None:
    files, code = UNRESOLVED_CASES[case]
    repo = make_repo(tmp_path / "repo", {**SUBDIR, **files})
    data = detect(repo, "rust/a/src/lib.rs")
    assert data["mode"] == "fail-safe"
    assert any(reason.startswith(code) for reason in data["failsafe"]), data["failsafe"]


# --- both revisions' graphs --------------------------------------------------------------------


def test_with_base_the_base_graph_is_read_from_the_revision(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", dict(SIBLINGS))
    base = git(repo, "rev-parse", "HEAD").strip()
    # the head drops ext's dependency on b and changes b: the base graph still has ext -> b
    write_files(
        repo,
        {
            "engine/ext/Cargo.toml": package(
                "ext", '\n[dependencies]\ncore = { path = "../core" }\n'
            ),
            "rust/b/src/lib.rs": "// changed\n",
        },
    )
    commit_all(repo, "ext no longer depends on b")
    data = detect_json(repo, "--base", base)
    assert data["mode"] == "precise", data["failsafe"]
    assert set(data["selected"]) == {"a", "b", "ext"}


def test_with_base_a_subdirectory_lock_is_diffed_within_its_workspace(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {**SIBLINGS, "engine/Cargo.lock": _lock(("core", []))})
    base = git(repo, "rev-parse", "HEAD").strip()
    write_files(repo, {"engine/Cargo.lock": _lock(("core", []), ("ext", []))})
    commit_all(repo, "engine lock changed")
    data = detect_json(repo, "--base", base)
    assert data["mode"] == "precise", data["failsafe"]
    assert data["selected"] == ["ext"]  # core's entry is as it was
    (found,) = [r for r in data["reasons"]["ext"] if r["code"] == "lockfile-change"]
    assert found["path"] == "engine/Cargo.lock" and found["detail"] == "ext 0.1.0 added"


# --- differential: cargo metadata in each top-most root ---------------------------------------

CARGO = shutil.which("cargo")
needs_cargo = pytest.mark.skipif(
    CARGO is None, reason="cargo is not installed: nothing to compare top-most roots with"
)
DIFFERENTIAL = {
    "subdir": (SUBDIR, ("rust", "tools/cli")),
    "siblings": (SIBLINGS, ("rust", "engine", "tools/cli")),
    "standalone": (STANDALONE, ("native", "bindings", "other")),
}


@needs_cargo
@pytest.mark.parametrize(
    ("case", "root"), [(case, root) for case, (_, roots) in DIFFERENTIAL.items() for root in roots]
)
def test_edges_of_each_top_most_root_match_cargo_metadata(
    case: str, root: str, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", dict(DIFFERENTIAL[case][0]))
    _compare_with_cargo(repo, repo / root)


@needs_cargo
@pytest.mark.parametrize("seed", (1, 2, 3))
def test_a_generated_workspace_in_a_subdirectory_matches_cargo_metadata(
    seed: int, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    generated = cargo_gen.generate(seed)
    cargo_gen.write(generated, repo / "rust")
    write_files(repo, {"pyproject.toml": '[project]\nname = "app"\nversion = "0.1.0"\n'})
    _cargo(repo / "rust", "generate-lockfile")
    git(repo, "init", "-q")
    commit_all(repo, "generated")
    _compare_with_cargo(repo, repo / "rust")
    found = _discovered(repo)
    assert not any(e.lockfile_only for e in found.edges)  # the lock cargo wrote agrees
    assert found.lock_gaps == []


# --- the cache key covers what top-most roots read ---------------------------------------------


def test_a_warm_cache_sees_each_top_most_input_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANES_CACHE_DIR", str(tmp_path / "cache"))
    repo = make_repo(tmp_path / "repo", dict(SUBDIR))

    def covered_by(expect_hit: bool) -> dict[str, list[str]]:
        loaded = load_workspace(repo)
        assert loaded.cache_hit is expect_hit
        assert loaded.index == load_workspace(repo, use_cache=False).index
        return loaded.index.covered_by

    assert sorted(covered_by(False)["b"]) == ["a", "b"]
    covered_by(True)
    # the root's lock appears, recording an edge the manifests lack
    write_files(repo, {"rust/Cargo.lock": _lock(("a", []), ("b", []), ("c", ["b"]))})
    write_files(repo, {"rust/Cargo.toml": RUST_WS.replace('"a", "b"', '"a", "b", "c"')})
    write_files(repo, {"rust/c/Cargo.toml": package("c"), "rust/c/src/lib.rs": "\n"})
    git(repo, "add", "-A")
    assert sorted(covered_by(False)["b"]) == ["a", "b", "c"]
    covered_by(True)
    # a new top-most package, tracked: a root of its own
    write_files(
        repo,
        {"py/ext/Cargo.toml": package("ext", '\n[dependencies]\nb = { path = "../../rust/b" }\n')},
    )
    git(repo, "add", "-A")
    assert sorted(covered_by(False)["b"]) == ["a", "b", "c", "ext"]
    # a Cargo.toml above it that declares a workspace takes it in (and not rust/)
    write_files(repo, {"py/Cargo.toml": '[workspace]\nmembers = ["ext"]\n'})
    git(repo, "add", "-A")
    assert load_workspace(repo).cache_hit is False


def test_an_observation_recorded_under_another_index_format_is_not_replayed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANES_CACHE_DIR", str(tmp_path / "cache"))
    repo = make_repo(tmp_path / "repo", dict(SUBDIR))
    load_workspace(repo)
    scope = f"{load_workspace(repo).config.digest}\0False"
    assert cache.load_observed(repo, scope) is not None
    # what an older lanes concluded (no Cargo discovery here) must not be replayed by this one
    monkeypatch.setattr(cache, "FORMAT_VERSION", cache.FORMAT_VERSION - 1)
    assert cache.load_observed(repo, scope) is None


def test_locate_lists_every_file_parse_reads_under_top_most_roots(
    siblings_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    located, touched, _ = located_and_read(siblings_repo, monkeypatch)
    assert touched <= set(located)
    assert {"rust/a/Cargo.toml", "engine/ext/Cargo.toml", "tools/cli/Cargo.toml"} <= touched


def test_a_workspace_nested_in_a_subdirectory_root_and_its_stale_lock(tmp_path: Path) -> None:
    files = {
        "rust/Cargo.toml": '[workspace]\nmembers = ["a", "b"]\nexclude = ["fuzz"]\n',
        "rust/a/Cargo.toml": package("a", '\n[dependencies]\nb = { path = "../b" }\n'),
        "rust/b/Cargo.toml": package("b"),
        "rust/fuzz/Cargo.toml": package(
            "a-fuzz", '\n[workspace]\n\n[dependencies]\na = { path = "../a" }\n'
        ),
        "rust/Cargo.lock": _lock(("a", []), ("b", [])),
    }
    repo = make_repo(tmp_path / "repo", files)
    assert _selected(repo, "rust/b/src/lib.rs") == {"a", "b", "a-fuzz"}
    assert _selected(repo, "rust/fuzz/Cargo.lock") == {"a-fuzz"}
    result = lanes(repo, "check")
    assert (
        "a -> b (normal) is stated by rust/a/Cargo.toml but not recorded by rust/Cargo.lock:"
        " lanes follows the manifest; the lock is stale: run cargo update --workspace in rust/"
    ) in " ".join((result.stdout + result.stderr).split())
