from __future__ import annotations

import json
from pathlib import Path

import pytest

from lanes.discovery import npm
from lanes.model import Component, Discovery, Edge
from tests.lanes.fixtures import (
    ACME_JS_SESSION_DEPENDENTS,
    NPM_PACKAGES,
    check_documented_dependents,
    git,
    npm_workspace,
    write_files,
)


def discover(repo: Path) -> Discovery:
    return npm.parse(repo, npm.locate(repo))


def edge_set(result: Discovery) -> set[tuple[str, str, str, bool]]:
    return {(e.source, e.target, e.kind, e.optional) for e in result.edges}


def pkg(name: str | None = None, **fields: object) -> str:
    document = {"name": name, **fields} if name is not None else dict(fields)
    return json.dumps(document, indent=2) + "\n"


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return npm_workspace(tmp_path_factory.mktemp("npm"))


@pytest.fixture(scope="module")
def acme_result(acme: Path) -> Discovery:
    return discover(acme)


def test_fixture_is_committed_git_repo(acme: Path) -> None:
    assert git(acme, "status", "--porcelain") == ""
    assert "packages/session/src/persistent.ts" in git(acme, "ls-files")


def test_fixture_components(acme_result: Discovery) -> None:
    assert acme_result.errors == []
    assert {c.directory or "": c.name for c in acme_result.components} == NPM_PACKAGES
    # The private workspace root owns no file (its manifest and lockfile are global inputs).
    assert Component("acme-monorepo", "npm", manifest="package.json") in acme_result.components
    assert acme_result.global_inputs == ["package-lock.json", "package.json"]
    assert (
        Component(
            "@acme/session",
            "npm",
            directory="packages/session",
            manifest="packages/session/package.json",
        )
        in acme_result.components
    )


def test_fixture_edges(acme_result: Discovery) -> None:
    edges = edge_set(acme_result)
    assert ("@acme/runtime", "@acme/session", "normal", False) in edges
    assert ("@acme/store", "@acme/core", "normal", False) in edges
    assert ("@acme/session", "@acme/testkit", "dev", False) in edges
    assert ("@acme/ui", "@acme/session", "normal", False) in edges  # peerDependencies
    assert ("@acme/telemetry", "@acme/sdk", "normal", False) in edges  # optionalDependencies
    assert ("acme-cli", "@acme/sdk", "normal", False) in edges
    assert ("admin", "@acme/runtime", "normal", False) in edges
    assert ("acme-monorepo", "@acme/testkit", "dev", False) in edges
    assert not any(e.target in {"react", "next", "zod"} for e in acme_result.edges)


def test_fixture_session_dependents_match_documentation(acme_result: Discovery) -> None:
    names = {c.name for c in acme_result.components}
    check_documented_dependents(
        acme_result.edges, "@acme/session", names, ACME_JS_SESSION_DEPENDENTS
    )


# --- unit cases -----------------------------------------------------------------------------


def test_nothing_to_locate(tmp_path: Path) -> None:
    assert npm.locate(tmp_path) == []
    assert npm.parse(tmp_path, []) == Discovery()


def test_single_package(tmp_path: Path) -> None:
    write_files(tmp_path, {"package.json": pkg("solo", dependencies={"left-pad": "1"})})
    result = discover(tmp_path)
    assert result.components == [Component("solo", "npm", directory="", manifest="package.json")]
    assert result.edges == []


def test_unnamed_root_is_not_a_component(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "package.json": pkg(private=True, workspaces=["packages/*"]),
            "packages/a/package.json": pkg("a", dependencies={"b": "^1"}),
            "packages/b/package.json": pkg("b"),
        },
    )
    result = discover(tmp_path)
    assert [c.name for c in result.components] == ["a", "b"]
    assert result.edges == [Edge("a", "b")]


def test_yarn_object_form_and_recursive_glob(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "package.json": pkg("root", workspaces={"packages": ["libs/**"], "nohoist": ["x"]}),
            "libs/a/package.json": pkg("a"),
            "libs/group/b/package.json": pkg("b", devDependencies={"a": "workspace:*"}),
            "libs/group/b/node_modules/dep/package.json": pkg("dep"),
            "libs/empty/index.js": "\n",
        },
    )
    # Directories the pattern matches without a package.json are located too (one appearing
    # there makes a new member), but are no members.
    assert npm.locate(tmp_path) == [
        "libs/a/package.json",
        "libs/empty/package.json",
        "libs/group/b/package.json",
        "libs/group/package.json",
        "libs/package.json",
        "package.json",
    ]
    result = discover(tmp_path)
    assert result.errors == []
    assert result.edges == [Edge("b", "a", "dev")]


def test_pnpm_workspace_with_negation(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "package.json": pkg("root", dependencies={"a": "workspace:^"}),
            "pnpm-workspace.yaml": "packages:\n  - 'packages/*'\n  - '!packages/skip'\n",
            "packages/a/package.json": pkg("a", peerDependencies={"b": "*"}),
            "packages/b/package.json": pkg("b", optionalDependencies={"a": "workspace:*"}),
            "packages/skip/package.json": pkg("skip"),
        },
    )
    assert npm.locate(tmp_path) == [
        "package.json",
        "packages/a/package.json",
        "packages/b/package.json",
        "pnpm-workspace.yaml",
    ]
    assert edge_set(discover(tmp_path)) == {
        ("root", "a", "normal", False),
        ("a", "b", "normal", False),
        ("b", "a", "normal", False),
    }


def test_pnpm_without_root_package_json(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "pnpm-workspace.yaml": "packages: ['apps/*']\n",
            "apps/x/package.json": pkg("x"),
        },
    )
    result = discover(tmp_path)
    assert [c.name for c in result.components] == ["x"]


def test_alias_and_path_protocols(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "package.json": pkg(workspaces=["packages/*"]),
            "packages/app/package.json": pkg(
                "app",
                dependencies={
                    "core-alias": "npm:@s/core@^1",
                    "util-local": "file:../util-dir",
                    "linked": "link:../linked",
                    "ws-alias": "workspace:@s/other@*",
                    "relative": "workspace:../rel",
                },
            ),
            "packages/core/package.json": pkg("@s/core"),
            "packages/util-dir/package.json": pkg("util"),
            "packages/linked/package.json": pkg("linked-pkg"),
            "packages/other/package.json": pkg("@s/other"),
            "packages/rel/package.json": pkg("rel-pkg"),
        },
    )
    assert edge_set(discover(tmp_path)) == {
        ("app", "@s/core", "normal", False),
        ("app", "util", "normal", False),
        ("app", "linked-pkg", "normal", False),
        ("app", "@s/other", "normal", False),
        ("app", "rel-pkg", "normal", False),
    }


def test_dependency_and_peer_on_same_package(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "package.json": pkg(workspaces=["p/*"]),
            "p/a/package.json": pkg("a", peerDependencies={"b": "*"}, devDependencies={"b": "*"}),
            "p/b/package.json": pkg("b"),
        },
    )
    assert edge_set(discover(tmp_path)) == {("a", "b", "dev", False), ("a", "b", "normal", False)}


def test_invalid_json_member_reports_line_and_keeps_component(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "package.json": pkg(workspaces=["p/*"]),
            "p/a/package.json": '{\n  "name": "a",\n  "dependencies": {,}\n}\n',
            "p/b/package.json": pkg("b", dependencies={"a": "*"}),
        },
    )
    result = discover(tmp_path)
    assert [(e.path, e.line) for e in result.errors] == [("p/a/package.json", 3)]
    assert {c.name: c.directory for c in result.components} == {"a": "p/a", "b": "p/b"}
    assert result.edges == [Edge("b", "a")]


def test_invalid_root_json(tmp_path: Path) -> None:
    write_files(tmp_path, {"package.json": '{\n  "name": "x",\n  "workspaces": [\n'})
    assert npm.locate(tmp_path) == ["package.json"]
    result = discover(tmp_path)
    assert [(e.path, e.line) for e in result.errors] == [("package.json", 4)]
    assert result.components == []


def test_invalid_pnpm_yaml(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {"package.json": pkg("root"), "pnpm-workspace.yaml": "packages:\n  - 'a\n  - b: [\n"},
    )
    result = discover(tmp_path)
    assert [e.path for e in result.errors] == ["pnpm-workspace.yaml"]
    assert result.errors[0].line >= 2
    assert [c.name for c in result.components] == ["root"]


def test_pnpm_packages_wrong_type(tmp_path: Path) -> None:
    write_files(tmp_path, {"pnpm-workspace.yaml": "# comment\npackages: 3\n"})
    result = discover(tmp_path)
    assert [(e.path, e.line) for e in result.errors] == [("pnpm-workspace.yaml", 2)]


def test_wrong_types_report_lines(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "package.json": pkg(workspaces=["p/*"]),
            "p/a/package.json": (
                '{\n  "name": "a",\n  "dependencies": ["b"],\n  "devDependencies": {"b": 1}\n}\n'
            ),
        },
    )
    result = discover(tmp_path)
    assert sorted((e.path, e.line) for e in result.errors) == [
        ("p/a/package.json", 3),
        ("p/a/package.json", 4),
    ]


def test_workspaces_wrong_type(tmp_path: Path) -> None:
    write_files(tmp_path, {"package.json": pkg("root", workspaces="p/*")})
    result = discover(tmp_path)
    assert [(e.path, e.line) for e in result.errors] == [("package.json", 3)]
    assert [c.name for c in result.components] == ["root"]


def test_json_array_document_is_an_error(tmp_path: Path) -> None:
    write_files(tmp_path, {"package.json": "[]\n"})
    assert [(e.path, e.line) for e in discover(tmp_path).errors] == [("package.json", 1)]


def test_duplicate_and_unnamed_members(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "package.json": pkg(workspaces=["p/*"]),
            "p/a/package.json": pkg("same"),
            "p/b/package.json": pkg("same"),
            "p/unnamed/package.json": pkg(version="1.0.0"),
        },
    )
    result = discover(tmp_path)
    assert {c.name: c.directory for c in result.components} == {
        "same": "p/a",
        "unnamed": "p/unnamed",
    }
    assert [(e.path, e.line) for e in result.errors] == [("p/b/package.json", 2)]
