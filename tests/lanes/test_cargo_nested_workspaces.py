"""End to end: a Cargo workspace nested in the repository (a cargo-fuzz ``fuzz/`` with its own
``[workspace]``, a virtual workspace under ``tools/``) is read as a workspace of its own, as
Cargo reads it when run in that directory: its members, its ``[workspace.dependencies]`` (a
member inheriting a path dependency from the nested root gets the edge, with the features
merged), its ``[patch]`` and ``[replace]``, its ``Cargo.lock`` (edges, unresolved path
packages, stale entries) and its root manifest, lock and toolchain files as inputs of that
workspace's components only. The differential tests compare the edges with ``cargo metadata``
run in each nested root.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from lanes.discovery import cargo as cargo_discovery
from lanes.model import LOCKFILE_EDGE, Discovery, LockGap
from lanes.workspace import load_workspace
from tests.lanes import cargo_gen
from tests.lanes.fixtures import commit_all, git, write_files
from tests.lanes.test_cache_cargo import located_and_read
from tests.lanes.test_cli_cargo import detect_json, lanes
from tests.lanes.test_cli_cargo_semantics import detect, make_repo, package

MYCRATE = package(
    "mycrate",
    '\n[features]\nbase = []\nextra = []\n\n[workspace]\nmembers = ["crates/*"]\n'
    'exclude = ["fuzz", "tools"]\n\n[workspace.dependencies]\n'
    'common = { path = "crates/common-a", package = "common-a" }\n',
)
FUZZ = package(
    "mycrate-fuzz",
    '\n[workspace]\nmembers = [".", "helpers"]\n\n[workspace.dependencies]\n'
    'mycrate = { path = "..", features = ["base"] }\n'
    'helpers = { path = "helpers", package = "fuzz-helpers" }\n\n'
    "[dependencies]\nhelpers.workspace = true\n",
)
FUZZ_HELPERS = package(
    "fuzz-helpers", '\n[dependencies]\nmycrate = { workspace = true, features = ["extra"] }\n'
)
INNER = (
    '[workspace]\nmembers = ["x", "y"]\nresolver = "2"\n\n[workspace.dependencies]\n'
    'common = { path = "../../crates/common-b", package = "common-b" }\n'
    'util = { path = "../../crates/util" }\n\n'
    '[patch.crates-io]\nserde = { path = "../../vendor/serde" }\n'
)
OTHER = (
    '[workspace]\nmembers = ["z"]\nresolver = "2"\n\n'
    '[replace]\n"rfoo:0.1.0" = { path = "../../vendor/rfoo" }\n'
)
FILES = {
    "Cargo.toml": MYCRATE,
    "crates/util/Cargo.toml": package("util"),
    # a component: tools/other builds it through its [replace]
    "crates/common-a/Cargo.toml": package(
        "common-a", '\n[dependencies]\nrfoo = { path = "../../vendor/rfoo" }\n'
    ),
    "crates/common-b/Cargo.toml": package("common-b"),
    "vendor/serde/Cargo.toml": '[package]\nname = "serde"\nversion = "1.0.0"\nedition = "2021"\n',
    "vendor/rfoo/Cargo.toml": package("rfoo"),
    # cargo-fuzz: the fuzz package is the root of its own workspace, with a second member that
    # names no path (it inherits mycrate from the fuzz root)
    "fuzz/Cargo.toml": FUZZ,
    "fuzz/helpers/Cargo.toml": FUZZ_HELPERS,
    # a virtual workspace whose `common` is another crate than the top root's `common`
    "tools/inner/Cargo.toml": INNER,
    "tools/inner/x/Cargo.toml": package(
        "x", '\n[dependencies]\ncommon.workspace = true\nserde = "1"\n'
    ),
    "tools/inner/y/Cargo.toml": package("y", "\n[dev-dependencies]\nutil.workspace = true\n"),
    "tools/other/Cargo.toml": OTHER,
    "tools/other/z/Cargo.toml": package("z", '\n[dependencies]\nrfoo = "0.1"\n'),
    "src/lib.rs": "\n",
}
NESTED_ROOTS = ("fuzz", "tools/inner", "tools/other")


@pytest.fixture(scope="module")
def nested_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("nested") / "repo", dict(FILES))


def _selected(repo: Path, path: str) -> set[str]:
    data = detect(repo, path)
    assert data["mode"] == "precise", (path, data["failsafe"])
    return set(data["selected"])


def _discovered(repo: Path) -> Discovery:
    return cargo_discovery.parse(repo, cargo_discovery.locate(repo))


SELECTIONS = {
    # what each nested workspace builds from the top one, through its own root's entries
    "src/lib.rs": {"mycrate", "mycrate-fuzz", "fuzz-helpers"},
    "crates/common-b/src/lib.rs": {"common-b", "x"},
    "crates/common-a/src/lib.rs": {"common-a"},
    "crates/util/src/lib.rs": {"util", "y"},
    "vendor/serde/src/lib.rs": {"serde", "x"},  # [patch] of tools/inner
    "vendor/rfoo/src/lib.rs": {"rfoo", "common-a", "z"},  # [replace] of tools/other
    "fuzz/helpers/src/lib.rs": {"fuzz-helpers", "mycrate-fuzz"},
    # a nested root's inputs select that workspace's components only
    "fuzz/Cargo.toml": {"mycrate-fuzz", "fuzz-helpers"},
    "fuzz/Cargo.lock": {"mycrate-fuzz", "fuzz-helpers"},
    "tools/inner/Cargo.toml": {"x", "y"},
    "tools/inner/Cargo.lock": {"x", "y"},
    "tools/inner/rust-toolchain.toml": {"x", "y"},
    "tools/inner/.cargo/config.toml": {"x", "y"},
    "tools/other/Cargo.lock": {"z"},
}


@pytest.mark.parametrize("path", sorted(SELECTIONS))
def test_a_change_selects_what_each_nested_workspace_builds_from_it(
    nested_repo: Path, path: str
) -> None:
    assert _selected(nested_repo, path) == SELECTIONS[path]


def test_inherited_entries_resolve_against_the_nested_root(nested_repo: Path) -> None:
    found = _discovered(nested_repo)
    assert found.errors == []
    edges = {(e.source, e.target): e for e in found.edges}
    assert edges["fuzz-helpers", "mycrate"].features == ("base", "extra")
    assert edges["mycrate-fuzz", "fuzz-helpers"].dep == "helpers"
    assert edges["x", "common-b"].dep == "common"
    assert ("x", "common-a") not in edges
    assert edges["y", "util"].kind == "dev"
    assert ("x", "serde") in edges and ("z", "rfoo") in edges


def test_the_nested_roots_are_no_global_inputs(nested_repo: Path) -> None:
    found = _discovered(nested_repo)
    assert not any(path.startswith(NESTED_ROOTS) for path in found.global_inputs)
    for root in NESTED_ROOTS:
        assert f"{root}/Cargo.toml" in found.manifests
        assert f"{root}/Cargo.lock" in found.manifests


# --- what lands nowhere is fail-safe ---------------------------------------------------------

UNRESOLVED_CASES = {
    "a key the nested root does not define": (
        {"fuzz/helpers/Cargo.toml": FUZZ_HELPERS + "ghost.workspace = true\n"},
        "manifest-error: fuzz/helpers/Cargo.toml:8",
    ),
    "an inherited path to an absent directory": (
        {
            "fuzz/Cargo.toml": FUZZ.replace(
                "[dependencies]", 'gone = { path = "gone" }\n\n[dependencies]'
            ),
            "fuzz/helpers/Cargo.toml": FUZZ_HELPERS + "gone.workspace = true\n",
        },
        "unresolved-dependency: fuzz/helpers/Cargo.toml:8",
    ),
    "a package its nested root excludes, so no root takes it in": (
        {
            "tools/inner/Cargo.toml": INNER.replace("resolver", 'exclude = ["legacy"]\nresolver'),
            "tools/inner/legacy/Cargo.toml": package(
                "legacy",
                '\n[dependencies]\nutil = { path = "../../../crates/util" }\n'
                "common.workspace = true\n",
            ),
        },
        "manifest-error: tools/inner/legacy/Cargo.toml:8",
    ),
    "a nested root that does not parse": (
        {
            "tools/inner/Cargo.toml": INNER.replace('resolver = "2"', "resolver = "),
            "tools/inner/x/Cargo.toml": package(
                "x", '\n[dependencies]\nutil = { path = "../../../crates/util" }\n'
            ),
        },
        "manifest-error: tools/inner/Cargo.toml:3",
    ),
    "a nested member that is not checked out": (
        {"tools/inner/Cargo.toml": INNER.replace('"x", "y"', '"x", "y", "sparse"')},
        "unresolved-dependency: tools/inner/Cargo.toml:2",
    ),
    "a path package of the nested lock that no member provides": (
        {
            "fuzz/Cargo.lock": (
                'version = 4\n\n[[package]]\nname = "mycrate-fuzz"\nversion = "0.1.0"\n\n'
                '[[package]]\nname = "ghost"\nversion = "0.1.0"\n'
            )
        },
        "unresolved-dependency: fuzz/Cargo.lock:8",
    ),
}


@pytest.mark.parametrize("case", sorted(UNRESOLVED_CASES))
def test_what_a_nested_workspace_names_and_lands_nowhere_is_fail_safe(
    case: str, tmp_path: Path
) -> None:
    files, code = UNRESOLVED_CASES[case]
    repo = make_repo(tmp_path / "repo", {**FILES, **files})
    data = detect(repo, "fuzz/helpers/src/lib.rs")
    assert data["mode"] == "fail-safe"
    assert code in data["failsafe"]


# --- the nested Cargo.lock --------------------------------------------------------------------


def _lock(*entries: tuple[str, list[str]]) -> str:
    text = "version = 4\n"
    for name, dependencies in entries:
        text += f'\n[[package]]\nname = "{name}"\nversion = "0.1.0"\n'
        if dependencies:
            text += "dependencies = [\n" + "".join(f' "{d}",\n' for d in dependencies) + "]\n"
    return text


FUZZ_LOCK = _lock(
    ("fuzz-helpers", ["mycrate", "util"]),  # util: only the lock records it
    ("mycrate", []),
    ("mycrate-fuzz", ["fuzz-helpers"]),
    ("util", []),
)


def test_an_edge_only_the_nested_lock_records_is_followed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {**FILES, "fuzz/Cargo.lock": FUZZ_LOCK})
    found = _discovered(repo)
    assert [e for e in found.edges if e.lockfile_only] == [
        next(e for e in found.edges if (e.source, e.target) == ("fuzz-helpers", "util"))
    ]
    assert next(e for e in found.edges if e.lockfile_only).dep == f"{LOCKFILE_EDGE}util"
    assert found.lock_gaps == []
    assert _selected(repo, "crates/util/src/lib.rs") == {
        "util",
        "y",
        "fuzz-helpers",
        "mycrate-fuzz",
    }


def test_a_stale_nested_lock_is_reported_against_its_own_members(tmp_path: Path) -> None:
    stale = _lock(("fuzz-helpers", ["mycrate"]), ("mycrate", []), ("mycrate-fuzz", []))
    repo = make_repo(tmp_path / "repo", {**FILES, "fuzz/Cargo.lock": stale})
    found = _discovered(repo)
    assert found.lock_gaps == [LockGap("fuzz/Cargo.lock", "mycrate-fuzz", "fuzz-helpers")]


# --- differential: cargo metadata in each nested root ----------------------------------------

CARGO = shutil.which("cargo")
needs_cargo = pytest.mark.skipif(
    CARGO is None, reason="cargo is not installed: nothing to compare nested workspaces with"
)


def _cargo(directory: Path, *args: str) -> str:
    assert CARGO is not None
    env = {**os.environ, "CARGO_NET_OFFLINE": "true", "CARGO_TARGET_DIR": str(directory / "t")}
    result = subprocess.run(
        [CARGO, *args, "--offline"], cwd=directory, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, f"cargo {' '.join(args)} in {directory}:\n{result.stderr}"
    return result.stdout


def _metadata(directory: Path, *extra: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        _cargo(directory, "metadata", "--format-version", "1", *extra)
    )
    return data


Row = tuple[str, str, str, bool, str, frozenset[str], bool]


def _declared_rows(metadata: dict[str, Any], names: dict[str, str]) -> set[Row]:
    """``--no-deps``: each member's path dependencies as Cargo read them (inherited entries
    merged), by lanes' name of the directory they point at."""
    rows: dict[tuple[str, str, str, str], Row] = {}
    for member in metadata["packages"]:
        for dep in member["dependencies"]:
            if "path" not in dep:
                continue
            row: Row = (
                member["name"],
                names[os.path.realpath(dep["path"])],
                dep["kind"] or "normal",
                dep["optional"],
                dep["rename"] or "",
                frozenset(dep["features"]),
                dep["uses_default_features"],
            )
            key = (row[0], row[1], row[2], row[4])
            seen = rows.get(key)
            if seen is not None:  # one dependency in several tables, merged as lanes merges it
                row = (*row[:3], seen[3] and row[3], row[4], seen[5] | row[5], seen[6] or row[6])
            rows[key] = row
    return set(rows.values())


def _resolved_pairs(metadata: dict[str, Any]) -> set[tuple[str, str, str]]:
    """The full resolve: (member, path package, kind) Cargo builds, [patch] and [replace]
    included."""
    packages = {p["id"]: p for p in metadata["packages"]}
    pairs = set()
    for node in metadata["resolve"]["nodes"]:
        if node["id"] not in metadata["workspace_members"]:
            continue
        for dep in node["deps"]:
            if packages[dep["pkg"]]["source"] is not None:
                continue
            for kind in dep["dep_kinds"]:
                pair = (packages[node["id"]]["name"], packages[dep["pkg"]]["name"])
                pairs.add((*pair, kind["kind"] or "normal"))
    return pairs


def _compare_with_cargo(repo: Path, root: Path, *, resolve: bool = True) -> None:
    found = _discovered(repo)
    assert found.errors == []
    real = os.path.realpath(repo)
    names = {os.path.join(real, c.directory or ""): c.name for c in found.components}
    names = {os.path.normpath(k): v for k, v in names.items()}
    declared = _metadata(root, "--no-deps")
    members = {
        p["name"]: os.path.relpath(os.path.dirname(p["manifest_path"]), real).replace(os.sep, "/")
        for p in declared["packages"]
    }
    ours_dirs = {c.name: c.directory for c in found.components}
    assert {name: ours_dirs.get(name) for name in members} == members
    ours = {
        (e.source, e.target, e.kind, e.optional, e.dep, frozenset(e.features), e.default_features)
        for e in found.edges
        if e.source in members and not e.lockfile_only
    }
    assert _declared_rows(declared, names) <= ours
    if resolve:
        assert {(r[0], r[1], r[2]) for r in ours} == _resolved_pairs(
            _metadata(root, "--all-features")
        )


@needs_cargo
@pytest.mark.parametrize("root", NESTED_ROOTS)
def test_edges_of_each_nested_workspace_match_cargo_metadata(
    nested_repo: Path, root: str, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"  # cargo metadata writes the nested lock: not into the shared repo
    shutil.copytree(nested_repo, repo)
    # Cargo resolves a [replace] only against the registry index, which --offline lacks: for
    # tools/other the manifests as cargo reads them (--no-deps) are compared, not the resolve.
    _compare_with_cargo(repo, repo / root, resolve=root != "tools/other")


def _generated_nested(seed: int, repo: Path) -> Path:
    """A generated workspace (``cargo_gen``) under ``nested/``, whose crate 0 builds a crate of
    the top workspace; the top root defines every ``[workspace.dependencies]`` key of the nested
    one as a decoy crate, so an entry inherited from the wrong root shows."""
    generated = cargo_gen.generate(seed)
    cargo_gen.write(generated, repo / "nested")
    decoys = "".join(
        f'"{key}" = {{ path = "outer/decoy", package = "decoy" }}\n'
        for key in sorted(generated.workspace_deps)
    )
    first = generated.crates[0]
    manifest = repo / "nested" / first.directory / "Cargo.toml"
    outer = os.path.relpath(repo / "outer" / "core", manifest.parent).replace(os.sep, "/")
    manifest.write_text(manifest.read_text() + f'\n[dependencies.outer-core]\npath = "{outer}"\n')
    write_files(
        repo,
        {
            "Cargo.toml": (
                '[workspace]\nresolver = "2"\nmembers = ["outer/*"]\nexclude = ["nested"]\n\n'
                f"[workspace.dependencies]\n{decoys}"
            ),
            "outer/core/Cargo.toml": package("outer-core"),
            "outer/core/src/lib.rs": "\n",
            "outer/decoy/Cargo.toml": package("decoy"),
            "outer/decoy/src/lib.rs": "\n",
        },
    )
    _cargo(repo / "nested", "generate-lockfile")
    git(repo, "init", "-q")
    commit_all(repo, "generated")
    return repo


@needs_cargo
@pytest.mark.parametrize("seed", (1, 2, 3))
def test_a_generated_nested_workspace_matches_cargo_metadata(seed: int, tmp_path: Path) -> None:
    repo = _generated_nested(seed, tmp_path / "repo")
    _compare_with_cargo(repo, repo / "nested")
    found = _discovered(repo)
    assert not any(e.lockfile_only for e in found.edges)  # the lock cargo wrote agrees
    assert found.lock_gaps == []
    assert "decoy" not in {e.target for e in found.edges}


# --- the cache key covers what nested workspaces read ------------------------------------------


def test_a_warm_cache_sees_each_nested_input_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANES_CACHE_DIR", str(tmp_path / "cache"))
    files = {**FILES, "tools/inner/Cargo.toml": INNER.replace('"x", "y"', '"x", "y", "more/*"')}
    repo = make_repo(tmp_path / "repo", files)

    def covered_by(expect_hit: bool) -> dict[str, list[str]]:
        loaded = load_workspace(repo)
        assert loaded.cache_hit is expect_hit
        assert loaded.index == load_workspace(repo, use_cache=False).index
        return loaded.index.covered_by

    assert sorted(covered_by(False)["util"]) == ["util", "y"]
    covered_by(True)
    # the nested lock appears, recording an edge the manifests lack
    write_files(repo, {"fuzz/Cargo.lock": FUZZ_LOCK})
    assert sorted(covered_by(False)["util"]) == ["fuzz-helpers", "mycrate-fuzz", "util", "y"]
    covered_by(True)
    # a nested member glob matches one more crate, which inherits util and names no path
    write_files(
        repo,
        {
            "tools/inner/more/w/Cargo.toml": package(
                "w", "\n[dependencies]\nutil.workspace = true\n"
            )
        },
    )
    assert "w" in covered_by(False)["util"]


def test_locate_lists_every_file_parse_reads_in_nested_workspaces(
    nested_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    located, touched, _ = located_and_read(nested_repo, monkeypatch)
    assert touched <= set(located)
    assert {"tools/inner/x/Cargo.toml", "fuzz/helpers/Cargo.toml"} <= touched


def test_with_base_a_nested_lock_and_root_select_their_workspace(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {**FILES, "tools/inner/Cargo.lock": _lock(("x", []))})
    base = git(repo, "rev-parse", "HEAD").strip()
    write_files(
        repo,
        {
            "tools/inner/Cargo.lock": _lock(("x", []), ("y", [])),
            "tools/inner/Cargo.toml": INNER + "\n[profile.release]\nlto = true\n",
        },
    )
    commit_all(repo, "nested lock and root changed")
    data = detect_json(repo, "--base", base)
    assert data["mode"] == "precise", data["failsafe"]
    assert set(data["selected"]) == {"x", "y"}


def test_a_nested_root_a_top_member_names_by_path_is_located_with_its_members(
    tmp_path: Path,
) -> None:
    files = {
        "Cargo.toml": '[workspace]\nmembers = ["crates/*"]\nexclude = ["side"]\n',
        "crates/util/Cargo.toml": package("util"),
        "crates/app/Cargo.toml": package(
            "app", '\n[dependencies]\nside = { path = "../../side" }\n'
        ),
        "side/Cargo.toml": package(
            "side",
            '\n[workspace]\nmembers = [".", "helper"]\n\n[workspace.dependencies]\n'
            'util = { path = "../crates/util" }\n\n[dependencies]\nutil.workspace = true\n',
        ),
        "side/helper/Cargo.toml": package(
            "side-helper", "\n[dependencies]\nutil.workspace = true\n"
        ),
    }
    repo = make_repo(tmp_path / "repo", files)
    located = cargo_discovery.locate(repo)
    assert {"side/helper/Cargo.toml", "side/Cargo.lock"} <= set(located)
    assert _selected(repo, "crates/util/src/lib.rs") == {"util", "side", "side-helper", "app"}
    assert _selected(repo, "side/Cargo.lock") == {"side", "side-helper", "app"}


def test_lanes_check_names_the_nested_lock_and_where_to_refresh_it(tmp_path: Path) -> None:
    stale = _lock(("fuzz-helpers", ["mycrate"]), ("mycrate", []), ("mycrate-fuzz", []))
    repo = make_repo(tmp_path / "repo", {**FILES, "fuzz/Cargo.lock": stale})
    result = lanes(repo, "check")
    assert (
        "mycrate-fuzz -> fuzz-helpers (normal) is stated by fuzz/Cargo.toml but not recorded by"
        " fuzz/Cargo.lock: lanes follows the manifest; the lock is stale: run cargo update"
        " --workspace in fuzz/"
    ) in " ".join((result.stdout + result.stderr).split())
