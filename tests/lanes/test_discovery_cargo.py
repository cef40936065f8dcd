from __future__ import annotations

from pathlib import Path

import pytest

from lanes.discovery import cargo, ecosystem
from lanes.model import Component, Discovery, Edge
from tests.lanes.fixtures import (
    CARGO_CRATES,
    MEERKAT_SESSION_DEPENDENTS,
    cargo_workspace,
    check_documented_dependents,
    git,
    write_files,
)


def discover(repo: Path) -> Discovery:
    return cargo.parse(repo, cargo.locate(repo))


def by_name(result: Discovery) -> dict[str, Component]:
    return {c.name: c for c in result.components}


def edge_set(result: Discovery) -> set[tuple[str, str, str, bool]]:
    return {(e.source, e.target, e.kind, e.optional) for e in result.edges}


@pytest.fixture(scope="module")
def meerkat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cargo_workspace(tmp_path_factory.mktemp("cargo"))


@pytest.fixture(scope="module")
def meerkat_result(meerkat: Path) -> Discovery:
    return discover(meerkat)


def test_fixture_is_committed_git_repo(meerkat: Path) -> None:
    assert git(meerkat, "status", "--porcelain") == ""
    tracked = git(meerkat, "ls-files").splitlines()
    assert "meerkat-session/src/persistent.rs" in tracked
    assert {"Cargo.lock", "meerkat-skills/SKILL.md", "docs/index.md"} <= set(tracked)


def test_fixture_components(meerkat_result: Discovery) -> None:
    assert meerkat_result.errors == []
    components = by_name(meerkat_result)
    # the excluded crate (a workspace of its own) builds meerkat-session: a component too
    assert len(components) == len(CARGO_CRATES) + 1 >= 31
    assert components["rkat"] == Component(
        "rkat", "cargo", directory="meerkat-cli", manifest="meerkat-cli/Cargo.toml"
    )
    assert components["meerkat-proto"].directory == "crates/meerkat-proto"
    assert components["meerkat-experimental"].directory == "crates/experimental"
    assert {c.directory for c in meerkat_result.components} == {
        *(c.directory for c in CARGO_CRATES),
        "crates/experimental",
    }
    edges = edge_set(meerkat_result)
    assert ("meerkat-experimental", "meerkat-session", "normal", False) in edges


def test_fixture_locate_lists_root_and_members(meerkat: Path) -> None:
    located = cargo.locate(meerkat)
    assert located == sorted(located)
    assert located[:2] == ["Cargo.lock", "Cargo.toml"]
    assert "meerkat-cli/Cargo.toml" in located
    assert "crates/experimental/Cargo.toml" in located  # it names a path
    members = {f"{c.directory}/Cargo.toml" for c in CARGO_CRATES}
    assert members <= set(located)
    # Over-inclusion is harmless (a ``[[bin]] path`` names a file, not a crate): the cache key
    # just hashes one more absent file.
    assert set(located) - members == {
        "Cargo.lock",
        "Cargo.toml",
        "meerkat-cli/src/main.rs/Cargo.toml",
        "crates/experimental/Cargo.toml",
        "crates/experimental/Cargo.lock",  # its own workspace's lock, listed whether present
    }


def test_fixture_edge_kinds(meerkat_result: Discovery) -> None:
    edges = edge_set(meerkat_result)
    assert ("meerkat-runtime", "meerkat-session", "normal", False) in edges
    assert ("meerkat-session", "meerkat-store", "normal", False) in edges
    assert ("meerkat-session", "meerkat-testkit", "dev", False) in edges
    assert ("meerkat-runtime", "meerkat-build-support", "build", False) in edges
    assert ("meerkat-openapi", "meerkat-rpc", "build", False) in edges
    assert ("meerkat", "meerkat-mob", "normal", True) in edges
    assert ("meerkat-memory", "meerkat-session", "normal", True) in edges
    assert ("meerkat-fs", "meerkat-session", "normal", False) in edges
    assert ("meerkat-sandbox", "meerkat-runtime", "normal", False) in edges
    assert ("meerkat-compat", "meerkat-session", "normal", False) in edges
    assert ("meerkat-storage-sqlite", "meerkat-store", "normal", False) in edges
    assert ("rkat", "meerkat", "normal", False) in edges
    assert ("rkat", "meerkat-rpc", "normal", False) in edges


def test_fixture_external_crates_are_not_edges(meerkat_result: Discovery) -> None:
    names = {c.name for c in meerkat_result.components}
    assert {e.target for e in meerkat_result.edges} <= names
    assert not any(e.target in {"serde", "tokio", "windows-sys"} for e in meerkat_result.edges)


def test_fixture_session_dependents_match_documentation(meerkat_result: Discovery) -> None:
    names = set(by_name(meerkat_result))
    check_documented_dependents(
        meerkat_result.edges, "meerkat-session", names, MEERKAT_SESSION_DEPENDENTS
    )


def test_ecosystem_lookup_finds_cargo(meerkat: Path) -> None:
    module = ecosystem("cargo")
    result = module.parse(meerkat, module.locate(meerkat))
    assert len(result.components) == len(CARGO_CRATES) + 1  # meerkat-experimental


# --- unit cases on hand-written workspaces -----------------------------------------------


def cargo_root_sources() -> tuple[str, ...]:
    return (*cargo.ROOT_SOURCES, "README.md", "README.txt", "README")


def package(name: str, body: str = "") -> str:
    return f'[package]\nname = "{name}"\nversion = "0.1.0"\n{body}'


def test_no_root_manifest_locates_nothing(tmp_path: Path) -> None:
    assert cargo.locate(tmp_path) == []
    assert cargo.parse(tmp_path, []) == Discovery()


def test_single_package_root(tmp_path: Path) -> None:
    write_files(tmp_path, {"Cargo.toml": package("solo", '[dependencies]\nserde = "1"\n')})
    result = discover(tmp_path)
    assert result.components == [
        Component("solo", "cargo", directory="", manifest="Cargo.toml", paths=cargo_root_sources())
    ]
    assert result.edges == []
    assert result.manifests == ["Cargo.lock", "Cargo.toml"]
    assert result.global_inputs == list(cargo.GLOBAL_INPUTS)


def test_root_package_with_workspace(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "Cargo.toml": package(
                "app",
                '\n[workspace]\nmembers = ["lib"]\n\n[dependencies]\nlib = { path = "lib" }\n',
            ),
            "lib/Cargo.toml": package("lib"),
        },
    )
    result = discover(tmp_path)
    assert {c.name: c.directory for c in result.components} == {"app": "", "lib": "lib"}
    assert result.edges == [Edge("app", "lib")]


def test_globs_exclude_and_nested_exclude(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "Cargo.toml": (
                '[workspace]\nmembers = ["crates/*", "tools/**/x?"]\n'
                'exclude = ["crates/skip", "tools/old"]\n'
            ),
            "crates/a/Cargo.toml": package("a"),
            "crates/skip/Cargo.toml": package("skip"),
            "tools/new/xa/Cargo.toml": package("xa"),
            "tools/old/xb/Cargo.toml": package("xb"),
            "crates/README.md": "not a crate\n",
        },
    )
    assert cargo.locate(tmp_path) == [
        "Cargo.lock",
        "Cargo.toml",
        "crates/a/Cargo.toml",
        "tools/new/xa/Cargo.toml",
    ]
    result = discover(tmp_path)
    assert sorted(c.name for c in result.components) == ["a", "xa"]
    assert result.errors == []


def test_all_dependency_tables_and_kinds(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "Cargo.toml": (
                '[workspace]\nmembers = ["a", "b", "c", "d", "e"]\n'
                '[workspace.dependencies]\ne = { path = "e" }\n'
            ),
            "a/Cargo.toml": package(
                "a",
                '[dependencies]\nb = { path = "../b" }\n'
                '[dev-dependencies]\nc = { path = "../c" }\n'
                '[build-dependencies]\nd = { path = "../d" }\n'
                "[target.'cfg(unix)'.dev-dependencies]\ne = { workspace = true }\n"
                '[target.x86_64-pc-windows-msvc.build-dependencies]\nb = { path = "../b" }\n',
            ),
            "b/Cargo.toml": package("b"),
            "c/Cargo.toml": package("c"),
            "d/Cargo.toml": package("d"),
            "e/Cargo.toml": package("e"),
        },
    )
    assert edge_set(discover(tmp_path)) == {
        ("a", "b", "normal", False),
        ("a", "b", "build", False),
        ("a", "c", "dev", False),
        ("a", "d", "build", False),
        ("a", "e", "dev", False),
    }


def test_renames_through_path_and_workspace(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "Cargo.toml": (
                '[workspace]\nmembers = ["app", "libs/*"]\n'
                "[workspace.dependencies]\n"
                'alias-ws = { path = "libs/real-dir", package = "real" }\n'
            ),
            "app/Cargo.toml": package(
                "app",
                "[dependencies]\nalias-ws.workspace = true\n"
                'other = { package = "named-differently", path = "../libs/other-dir" }\n',
            ),
            "libs/real-dir/Cargo.toml": package("real"),
            "libs/other-dir/Cargo.toml": package("named-differently"),
        },
    )
    result = discover(tmp_path)
    assert edge_set(result) == {
        ("app", "real", "normal", False),
        ("app", "named-differently", "normal", False),
    }
    assert by_name(result)["named-differently"].directory == "libs/other-dir"


def test_registry_dependency_with_member_name_is_not_an_edge(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["a", "b"]\n',
            "a/Cargo.toml": package("a", '[dependencies]\nb = "1.0"\nc = { git = "https://x" }\n'),
            "b/Cargo.toml": package("b"),
        },
    )
    assert discover(tmp_path).edges == []


def test_patch_makes_registry_dependency_internal(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "Cargo.toml": (
                '[workspace]\nmembers = ["a", "b"]\n[patch.crates-io]\nb = { path = "b" }\n'
            ),
            "a/Cargo.toml": package("a", '[dependencies]\nb = "1.0"\n'),
            "b/Cargo.toml": package("b"),
        },
    )
    assert discover(tmp_path).edges == [Edge("a", "b")]


def test_patch_and_replace_to_a_directory_no_member_lists_are_components(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "Cargo.toml": (
                '[workspace]\nmembers = ["a"]\nexclude = ["vendor"]\n'
                '[patch.crates-io]\nb = { path = "vendor/b" }\n'
                '[replace]\n"c:1.0.0" = { path = "vendor/c" }\n'
                '[patch."https://github.com/x/y"]\nd = { path = "../outside/d" }\n'
            ),
            "a/Cargo.toml": package(
                "a",
                '[dependencies]\nb = "1.0"\nc = "1.0"\nd = { git = "https://github.com/x/y" }\n',
            ),
            "vendor/b/Cargo.toml": package("b"),
            "vendor/c/Cargo.toml": package("c"),
        },
    )
    result = discover(tmp_path)
    assert result.edges == [Edge("a", "b"), Edge("a", "c")]
    assert {c.name: c.directory for c in result.components} == {
        "a": "a",
        "b": "vendor/b",
        "c": "vendor/c",
    }
    assert [(e.code(), e.message) for e in result.errors] == [
        (
            "unresolved-dependency: a/Cargo.toml:7",
            "[dependencies] d: path '../outside/d' is outside the repository",
        )
    ]


def test_optional_and_required_edge_keeps_required(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["a", "b"]\n',
            "a/Cargo.toml": package(
                "a",
                '[dependencies]\nb = { path = "../b", optional = true }\n'
                "[target.'cfg(unix)'.dependencies]\nb = { path = \"../b\" }\n",
            ),
            "b/Cargo.toml": package("b"),
        },
    )
    assert discover(tmp_path).edges == [Edge("a", "b", "normal", False)]


def test_path_outside_repository_is_unresolved_and_inside_is_implicit_member(
    tmp_path: Path,
) -> None:
    # Cargo makes vendor/y a member (a path dependency inside the workspace); the path outside
    # the repository cannot be seen by lanes: fail safe rather than drop it.
    write_files(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["a"]\n',
            "a/Cargo.toml": package(
                "a",
                '[dependencies]\nx = { path = "../../elsewhere" }\ny = { path = "../vendor/y" }\n',
            ),
            "vendor/y/Cargo.toml": package("y"),
        },
    )
    result = discover(tmp_path)
    assert result.edges == [Edge("a", "y")]
    assert by_name(result)["y"].directory == "vendor/y"
    assert [(e.code(), e.message) for e in result.errors] == [
        (
            "unresolved-dependency: a/Cargo.toml:5",
            "[dependencies] x: path '../../elsewhere' is outside the repository",
        )
    ]


def test_invalid_member_toml_reports_line_and_keeps_component(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["a", "b"]\n',
            "a/Cargo.toml": '[package]\nname = "alpha"\nversion = "0.1.0"\n\n[dependencies\n',
            "b/Cargo.toml": package("b", '[dependencies]\nalpha = { path = "../a" }\n'),
        },
    )
    result = discover(tmp_path)
    assert [(e.path, e.line) for e in result.errors] == [("a/Cargo.toml", 5)]
    assert "invalid TOML" in result.errors[0].message
    assert by_name(result)["alpha"].directory == "a"
    assert result.edges == [Edge("b", "alpha")]


def test_invalid_root_toml_is_an_error(tmp_path: Path) -> None:
    write_files(
        tmp_path, {"Cargo.toml": '[workspace]\nmembers = ["a"\n', "a/Cargo.toml": package("a")}
    )
    assert cargo.locate(tmp_path) == ["Cargo.lock", "Cargo.toml"]
    result = discover(tmp_path)
    assert len(result.errors) == 1
    assert result.errors[0].path == "Cargo.toml"
    assert result.errors[0].line in (2, 3)
    assert result.errors[0].code().startswith("manifest-error: Cargo.toml:")


def test_member_without_manifest_is_an_error(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nresolver = "2"\nmembers = ["crates/*", "gone"]\n',
            "crates/a/Cargo.toml": package("a"),
            "crates/empty/src/lib.rs": "\n",
        },
    )
    result = discover(tmp_path)
    assert [c.name for c in result.components] == ["a"]
    assert sorted((e.path, e.line, e.message) for e in result.errors) == [
        ("Cargo.toml", 3, "workspace member 'crates/empty' has no Cargo.toml"),
        ("Cargo.toml", 3, "workspace member 'gone' has no Cargo.toml"),
    ]


def test_excluded_member_without_manifest_is_fine(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["crates/*"]\nexclude = ["crates/empty"]\n',
            "crates/a/Cargo.toml": package("a"),
            "crates/empty/src/lib.rs": "\n",
        },
    )
    assert discover(tmp_path).errors == []


def test_wrong_types_are_errors_with_lines(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["a", "b"]\n',
            "a/Cargo.toml": 'dependencies = 5\n[package]\nname = "a"\n[dev-dependencies]\nb = 7\n',
            "b/Cargo.toml": '[package]\nversion = "1"\nname = 3\n',
        },
    )
    result = discover(tmp_path)
    assert sorted((e.path, e.line) for e in result.errors) == [
        ("a/Cargo.toml", 1),
        ("a/Cargo.toml", 5),
        ("b/Cargo.toml", 3),
    ]
    assert sorted(c.name for c in result.components) == ["a", "b"]


def test_members_must_be_strings(tmp_path: Path) -> None:
    write_files(tmp_path, {"Cargo.toml": "[workspace]\nmembers = 1\n"})
    result = discover(tmp_path)
    assert [(e.path, e.line) for e in result.errors] == [("Cargo.toml", 2)]


def test_workspace_true_without_workspace_entry(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["a"]\n',
            "a/Cargo.toml": package("a", "[dependencies]\nmissing = { workspace = true }\n"),
        },
    )
    result = discover(tmp_path)
    assert [(e.path, e.line) for e in result.errors] == [("a/Cargo.toml", 5)]
    assert "workspace.dependencies" in result.errors[0].message


def test_duplicate_package_names(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["a", "b"]\n',
            "a/Cargo.toml": package("same"),
            "b/Cargo.toml": package("same"),
        },
    )
    result = discover(tmp_path)
    assert [c.directory for c in result.components] == ["a"]
    assert [(e.path, e.line) for e in result.errors] == [("b/Cargo.toml", 2)]
    assert "duplicate" in result.errors[0].message


def test_non_utf8_manifest(tmp_path: Path) -> None:
    write_files(tmp_path, {"Cargo.toml": '[workspace]\nmembers = ["a"]\n'})
    (tmp_path / "a").mkdir()
    (tmp_path / "a/Cargo.toml").write_bytes(b'[package]\nname = "a"\ndescription = "\xff"\n')
    result = discover(tmp_path)
    assert [(e.path, e.line) for e in result.errors] == [("a/Cargo.toml", 3)]
    assert [c.name for c in result.components] == ["a"]


def test_absent_member_is_unresolved(tmp_path: Path) -> None:
    # A member directory that is not checked out (sparse checkout) is an unresolved dependency
    # of the workspace, on the line of ``members``.
    write_files(tmp_path, {"Cargo.toml": '[workspace]\nmembers = ["a"]\n'})
    result = cargo.parse(tmp_path, ["Cargo.toml", "a/Cargo.toml"])
    assert [e.code() for e in result.errors] == ["unresolved-dependency: Cargo.toml:2"]
    assert result.components == []


def test_a_path_the_locate_scan_cannot_read_is_an_error_not_a_stale_cache(tmp_path: Path) -> None:
    # A multi-line string is valid TOML that locate()'s scan does not read: the implicit member
    # it names would be missing from the cache key, so parse() says so (fail-safe).
    write_files(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["a"]\n',
            "a/Cargo.toml": package("a", '[dependencies]\nx = { path = """../x""" }\n'),
            "x/Cargo.toml": package("x"),
        },
    )
    assert "x/Cargo.toml" not in cargo.locate(tmp_path)
    result = discover(tmp_path)
    assert result.edges == [Edge("a", "x")]
    assert [e.code() for e in result.errors] == ["manifest-error: a/Cargo.toml:5"]
    assert "manifest scan missed" in result.errors[0].message
