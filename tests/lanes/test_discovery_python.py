from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lanes.discovery import _tree, python
from lanes.discovery._pep508 import InvalidRequirement, Requirement, parse_requirement
from lanes.model import Component, Discovery, Edge, EdgeKind
from tests.lanes.fixtures import (
    ACME_PY_SESSION_DEPENDENTS,
    UV_PROJECTS,
    check_documented_dependents,
    git,
    uv_workspace,
    write_files,
)


def discover(repo: Path) -> Discovery:
    return python.parse(repo, python.locate(repo))


def edge_set(result: Discovery) -> set[tuple[str, str, str, bool]]:
    return {(e.source, e.target, e.kind, e.optional) for e in result.edges}


def py_edge(source: str, target: str, kind: EdgeKind = "normal") -> Edge:
    """A plain requirement edge (Python requests no default feature on its target)."""
    return Edge(source, target, kind, default_features=False)


def project(name: str, body: str = "") -> str:
    return f'[project]\nname = "{name}"\nversion = "0.1.0"\n{body}'


def workspace_root(members: str = '["packages/*"]', body: str = "") -> str:
    return f"[tool.uv.workspace]\nmembers = {members}\n{body}"


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return uv_workspace(tmp_path_factory.mktemp("uv"))


@pytest.fixture(scope="module")
def acme_result(acme: Path) -> Discovery:
    return discover(acme)


def test_fixture_is_committed_git_repo(acme: Path) -> None:
    assert git(acme, "status", "--porcelain") == ""
    assert "packages/session/src/acme_session/persistent.py" in git(acme, "ls-files")


def test_fixture_components(acme_result: Discovery) -> None:
    assert acme_result.errors == []
    # The excluded member is a standalone project of the tree (it owns its directory).
    expected = {**UV_PROJECTS, "packages/legacy": "acme-legacy"}
    assert {c.directory: c.name for c in acme_result.components} == expected
    session = next(c for c in acme_result.components if c.name == "acme-session")
    assert session == Component(
        "acme-session",
        "python",
        directory="packages/session",
        manifest="packages/session/pyproject.toml",
    )


def test_fixture_locate_finds_every_project_and_lock(acme: Path) -> None:
    located = python.locate(acme)
    assert "pyproject.toml" in located
    assert "packages/legacy/pyproject.toml" in located  # excluded: a project of its own
    assert {"uv.lock", "packages/legacy/uv.lock"} <= set(located)
    assert {"uv.toml", "packages/legacy/uv.toml"} <= set(located)  # each root's, absent too
    assert len(located) == len(UV_PROJECTS) + 5


def test_fixture_edges(acme_result: Discovery) -> None:
    edges = edge_set(acme_result)
    assert ("acme-session", "acme-core", "normal", False) in edges
    assert ("acme-worker", "acme-runtime", "normal", False) in edges
    assert ("acme-metrics", "acme-session", "normal", False) in edges
    assert ("acme.plugins", "acme-session", "normal", True) in edges
    assert ("acme-cli", "acme-api", "normal", True) in edges
    assert ("acme-bench", "acme-session", "dev", True) in edges  # group `bench`
    assert ("acme", "acme-testkit", "dev", True) in edges  # group `dev`
    assert ("acme", "acme-cli", "normal", False) in edges
    assert not any(e.source == "acme-ext" for e in acme_result.edges)
    assert not any(e.source == "acme-legacy" for e in acme_result.edges)


def test_fixture_session_dependents_match_documentation(acme_result: Discovery) -> None:
    names = {c.name for c in acme_result.components}
    check_documented_dependents(
        acme_result.edges, "acme-session", names, ACME_PY_SESSION_DEPENDENTS
    )


# --- requirement strings ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("acme-core", Requirement("acme-core")),
        ("  Acme_Core>=1.0 ", Requirement("Acme_Core", specifier=">=1.0")),
        ("a.b[x, y]~=1.2,!=1.2.5", Requirement("a.b", ("x", "y"), "~=1.2,!=1.2.5")),
        ("pkg (>=1,<2)", Requirement("pkg", specifier=">=1,<2")),
        (
            "pkg==1.*; python_version < '3.12'",
            Requirement("pkg", (), "==1.*", None, "python_version < '3.12'"),
        ),
        (
            "pkg[e] @ https://example.com/p-1.0.tar.gz ; sys_platform == 'linux'",
            Requirement(
                "pkg", ("e",), "", "https://example.com/p-1.0.tar.gz", "sys_platform == 'linux'"
            ),
        ),
        ("pkg@file:///tmp/x.whl", Requirement("pkg", url="file:///tmp/x.whl")),
        ("pkg ===1.0+local", Requirement("pkg", specifier="===1.0+local")),
    ],
)
def test_parse_requirement(text: str, expected: Requirement) -> None:
    assert parse_requirement(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        ">=1.0",
        "-pkg",
        "pkg[unclosed",
        "pkg[b@d]",
        "pkg >= ",
        "pkg 1.0",
        "pkg;",
        "pkg @ ",
    ],
)
def test_parse_requirement_rejects(text: str) -> None:
    with pytest.raises(InvalidRequirement):
        parse_requirement(text)


def test_requirement_key_is_pep503_normalized() -> None:
    assert parse_requirement("Foo.Bar__baz-QUX").key == "foo-bar-baz-qux"


# --- unit cases -----------------------------------------------------------------------------


def test_no_pyproject(tmp_path: Path) -> None:
    assert python.locate(tmp_path) == []
    assert python.parse(tmp_path, []) == Discovery()


def test_single_project_without_workspace(tmp_path: Path) -> None:
    write_files(tmp_path, {"pyproject.toml": project("solo", 'dependencies = ["requests"]\n')})
    result = discover(tmp_path)
    assert result.manifests == ["pyproject.toml", "uv.lock", "uv.toml"]
    assert result.components == [
        Component("solo", "python", directory="", manifest="pyproject.toml")
    ]
    assert result.edges == [] and result.errors == []


def test_unlinked_nested_project_is_a_component_of_its_own(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "pyproject.toml": project("solo", 'dependencies = ["other"]\n'),
            "sub/pyproject.toml": project("other"),
        },
    )
    result = discover(tmp_path)
    assert result.manifests == [
        "pyproject.toml",
        "sub/pyproject.toml",
        "sub/uv.lock",
        "sub/uv.toml",
        "uv.lock",
        "uv.toml",
    ]
    assert [c.name for c in result.components] == ["solo", "other"]
    assert result.edges == [] and result.errors == []  # no source: uv takes it from the registry


def test_tool_only_pyproject_has_no_component(tmp_path: Path) -> None:
    write_files(tmp_path, {"pyproject.toml": "[tool.ruff]\nline-length = 100\n"})
    result = discover(tmp_path)
    assert result.components == [] and result.errors == []


def test_virtual_workspace_root(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "pyproject.toml": workspace_root(),
            "packages/a/pyproject.toml": project("a", 'dependencies = ["b"]\n'),
            "packages/b/pyproject.toml": project("b"),
        },
    )
    result = discover(tmp_path)
    assert [c.name for c in result.components] == ["a", "b"]
    assert result.edges == [py_edge("a", "b")]


def test_normalized_names_extras_markers(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "pyproject.toml": workspace_root(),
            "packages/a/pyproject.toml": project(
                "a", "dependencies = [\"My.Lib[fast] >=1 ; os_name == 'posix'\"]\n"
            ),
            "packages/b/pyproject.toml": project("my_lib"),
        },
    )
    assert discover(tmp_path).edges == [
        Edge("a", "my_lib", features=("fast",), default_features=False)
    ]


def test_optional_dependencies_and_groups(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "pyproject.toml": workspace_root(),
            "packages/a/pyproject.toml": project(
                "a",
                'dependencies = []\n[project.optional-dependencies]\nextra = ["b"]\n'
                '[dependency-groups]\ntest = ["c", {include-group = "lint"}]\nlint = ["d"]\n'
                '[tool.uv]\ndev-dependencies = ["e"]\n',
            ),
            **{f"packages/{n}/pyproject.toml": project(n) for n in "bcde"},
        },
    )
    result = discover(tmp_path)
    assert result.errors == []
    assert edge_set(result) == {
        ("a", "b", "normal", True),
        ("a", "c", "dev", True),
        ("a", "d", "dev", True),
        ("a", "e", "dev", True),
    }


def test_build_system_requirement_on_member_is_build_edge(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "pyproject.toml": workspace_root(),
            "packages/a/pyproject.toml": project("a")
            + '[build-system]\nrequires = ["backend"]\nbuild-backend = "backend.api"\n',
            "packages/backend/pyproject.toml": project("backend"),
        },
    )
    assert discover(tmp_path).edges == [py_edge("a", "backend", "build")]


def test_sources_path_workspace_and_external(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "pyproject.toml": project("root", 'dependencies = ["renamed-dir", "ext"]\n')
            + workspace_root('["libs/*"]')
            + '[tool.uv.sources]\nrenamed-dir = { path = "libs/other" }\n'
            + 'ext = { git = "https://x" }\n',
            "libs/other/pyproject.toml": project("renamed-dir"),
            "libs/ext/pyproject.toml": project("ext"),
            "libs/user/pyproject.toml": project("user", 'dependencies = ["ext", "root"]\n')
            + "[tool.uv.sources]\next = { workspace = true }\nroot = { workspace = true }\n",
        },
    )
    result = discover(tmp_path)
    assert edge_set(result) == {
        ("root", "renamed-dir", "normal", False),
        ("user", "ext", "normal", False),
        ("user", "root", "normal", False),
    }


def test_member_source_path_relative_to_member(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "pyproject.toml": workspace_root(),
            "packages/a/pyproject.toml": project("a", 'dependencies = ["b"]\n')
            + '[tool.uv.sources]\nb = [{ index = "x", marker = "sys_platform == \'win32\'" },'
            ' { path = "../b" }]\n',
            "packages/b/pyproject.toml": project("b"),
        },
    )
    assert discover(tmp_path).edges == [py_edge("a", "b")]


def test_exclude_and_missing_member(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "pyproject.toml": workspace_root(
                '["packages/*", "tools/cli"]', 'exclude = ["packages/old*"]\n'
            ),
            "packages/a/pyproject.toml": project("a"),
            "packages/old-x/pyproject.toml": project("old"),
            "packages/empty/README.md": "nothing\n",
        },
    )
    # Absent member manifests are located too (the cache key must see them appear), and the
    # excluded project is a standalone one with its own lock.
    assert python.locate(tmp_path) == [
        "packages/a/pyproject.toml",
        "packages/empty/pyproject.toml",
        "packages/old-x/pyproject.toml",
        "packages/old-x/uv.lock",
        "packages/old-x/uv.toml",
        "pyproject.toml",
        "tools/cli/pyproject.toml",
        "uv.lock",
        "uv.toml",
    ]
    result = discover(tmp_path)
    assert [c.name for c in result.components] == ["a", "old"]
    assert sorted((e.path, e.line, e.message) for e in result.errors) == [
        ("pyproject.toml", 2, "workspace member 'packages/empty' has no pyproject.toml"),
        ("pyproject.toml", 2, "workspace member 'tools/cli' has no pyproject.toml"),
    ]


def test_invalid_toml_member_keeps_component(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "pyproject.toml": workspace_root(),
            "packages/a/pyproject.toml": '[project]\nname = "alpha"\ndependencies = [\n"b",\n',
            "packages/b/pyproject.toml": project("b", 'dependencies = ["alpha"]\n'),
        },
    )
    result = discover(tmp_path)
    assert [(e.path, e.line) for e in result.errors] == [("packages/a/pyproject.toml", 4)]
    assert "end of document" in result.errors[0].message
    assert [c.name for c in result.components] == ["alpha", "b"]
    assert result.edges == [py_edge("b", "alpha")]


def test_invalid_root_is_reported(tmp_path: Path) -> None:
    write_files(tmp_path, {"pyproject.toml": "[project\nname = 'x'\n"})
    assert python.locate(tmp_path) == ["pyproject.toml", "uv.lock", "uv.toml"]
    result = discover(tmp_path)
    assert [(e.path, e.line) for e in result.errors] == [("pyproject.toml", 1)]


def test_invalid_requirement_and_types_report_lines(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "pyproject.toml": workspace_root(),
            "packages/a/pyproject.toml": (
                '[project]\nname = "a"\ndependencies = [\n  "ok",\n  "bad req!!",\n]\n'
                "optional-dependencies = 3\n"
                '[dependency-groups]\ndev = ["x", {include-group = "nope"}]\n'
            ),
        },
    )
    result = discover(tmp_path)
    assert [(e.path, e.line) for e in result.errors] == [
        ("packages/a/pyproject.toml", 5),
        ("packages/a/pyproject.toml", 7),
        ("packages/a/pyproject.toml", 9),
    ]
    assert [c.name for c in result.components] == ["a"]


def test_missing_project_name(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "pyproject.toml": workspace_root(),
            "packages/nameless/pyproject.toml": '[project]\nversion = "1"\n',
        },
    )
    result = discover(tmp_path)
    assert [c.name for c in result.components] == ["nameless"]
    assert [(e.path, e.line) for e in result.errors] == [("packages/nameless/pyproject.toml", 1)]


def test_duplicate_normalized_names(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "pyproject.toml": workspace_root(),
            "packages/a/pyproject.toml": project("my-lib"),
            "packages/b/pyproject.toml": project("My_Lib"),
        },
    )
    result = discover(tmp_path)
    assert [c.directory for c in result.components] == ["packages/a"]
    assert [(e.path, e.line) for e in result.errors] == [("packages/b/pyproject.toml", 2)]


_NAMES = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,10}[A-Za-z0-9])?", fullmatch=True)
_VERSIONS = st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,2}(\.\*)?", fullmatch=True)
_CLAUSES = st.builds(
    "{}{}".format, st.sampled_from(["==", "!=", ">=", "<=", "<", ">", "~=", "==="]), _VERSIONS
)


@given(
    name=_NAMES,
    extras=st.lists(_NAMES, max_size=3),
    clauses=st.lists(_CLAUSES, max_size=3),
    marker=st.sampled_from(["", "python_version >= '3.11'", "extra == 'x' and os_name == 'nt'"]),
    space=st.sampled_from(["", " ", "  "]),
)
def test_parse_requirement_roundtrip(
    name: str, extras: list[str], clauses: list[str], marker: str, space: str
) -> None:
    text = name
    if extras:
        text += f"{space}[{', '.join(extras)}]"
    text += space + ",".join(clauses)
    if marker:
        text += f"{space}; {marker}"
    parsed = parse_requirement(text)
    assert (parsed.name, parsed.extras) == (name, tuple(extras))
    assert parsed.specifier == ",".join(clauses)
    assert parsed.marker == marker


@given(st.text(max_size=40))
def test_parse_requirement_never_raises_anything_else(text: str) -> None:
    try:
        parsed = parse_requirement(text)
    except InvalidRequirement:
        return
    assert parsed.name and text.strip().startswith(parsed.name)


# --- projects anywhere: the manifest list ------------------------------------------------------


def test_git_repository_lists_tracked_manifests_only(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "a/pyproject.toml": project("a"),
            "node_modules/x/pyproject.toml": project("vendored"),
            ".venv/lib/pyproject.toml": project("venv"),
        },
    )
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-f", "a", "node_modules", ".venv")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
    write_files(tmp_path, {"untracked/pyproject.toml": project("untracked")})
    assert python.locate(tmp_path) == ["a/pyproject.toml", "a/uv.lock", "a/uv.toml"]
    git(tmp_path, "add", "untracked")  # the index changed: the cached list is refreshed
    assert "untracked/pyproject.toml" in python.locate(tmp_path)


def test_walk_outside_git_skips_environments_and_reports_truncation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_files(
        tmp_path,
        {
            "x/y/pyproject.toml": project("deep"),
            ".venv/pyproject.toml": project("venv"),
            "node_modules/p/pyproject.toml": project("js"),
        },
    )
    assert discover(tmp_path).errors == []
    assert [c.name for c in discover(tmp_path).components] == ["deep"]
    monkeypatch.setattr(_tree, "MAX_DIRECTORIES", 1)
    errors = discover(tmp_path).errors
    assert [e.code() for e in errors] == ["discovery-truncated: .:0"]


def test_dynamic_without_lock_is_a_reason_code_not_silence(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {"pyproject.toml": '[project]\nname = "d"\nversion = "1"\ndynamic = ["dependencies"]\n'},
    )
    assert [e.code() for e in discover(tmp_path).errors] == [
        "dynamic-dependencies: pyproject.toml:4"
    ]


def test_extras_and_groups_are_features(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "pyproject.toml": workspace_root(),
            "packages/a/pyproject.toml": project(
                "a",
                'dependencies = ["b[Fast]"]\n[project.optional-dependencies]\nAll = ["a[x]"]\n'
                'x = ["c"]\n[dependency-groups]\nTest = ["c", {include-group = "lint"}]\n'
                'lint = []\n[tool.uv]\ndev-dependencies = ["b"]\n',
            ),
            "packages/b/pyproject.toml": project("b"),
            "packages/c/pyproject.toml": project("c"),
        },
    )
    result = discover(tmp_path)
    a = next(c for c in result.components if c.name == "a")
    assert dict(a.features) == {
        "all": ("x",),
        "x": ("dep:extra:x:c",),
        "group:test": ("dep:group:test:c", "group:lint"),
        "group:lint": (),
        "group:dev": ("dep:group:dev:b",),
    }
    assert set(result.edges) == {
        Edge("a", "b", "normal", False, "", ("fast",), False),
        Edge("a", "b", "dev", True, "group:dev:b", (), False),
        Edge("a", "c", "normal", True, "extra:x:c", (), False),
        Edge("a", "c", "dev", True, "group:test:c", (), False),
    }


def test_nested_workspace_is_reported(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "pyproject.toml": workspace_root(),
            "packages/a/pyproject.toml": project("a") + workspace_root('["sub/*"]'),
            "packages/a/sub/b/pyproject.toml": project("b"),
        },
    )
    result = discover(tmp_path)
    assert [e.message for e in result.errors] == [
        "nested workspace: 'packages/a' is a member of another workspace"
    ]


def test_workspace_root_owns_its_packages_not_a_members_directory(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "pyproject.toml": project("acme", 'readme = "README.rst"\n')
            + workspace_root('["acme", "libs/*"]')
            + '[tool.hatch.build.targets.wheel]\npackages = ["lib/acme_core"]\n',
            "acme/pyproject.toml": project("acme-member"),
        },
    )
    root = next(c for c in discover(tmp_path).components if c.name == "acme")
    assert "acme/**" not in root.paths  # the member at acme/ owns it
    assert {"pyproject.toml", "README.rst", "src/acme/**", "tests/**", "lib/acme_core/**"} <= set(
        root.paths
    )
    assert {"acme.py", "setup.py", "hatch_build.py"} <= set(root.paths)


def test_lock_edges_the_manifests_lack_are_tagged(tmp_path: Path) -> None:
    lock = (
        'version = 1\n\n[[package]]\nname = "a"\nsource = { editable = "packages/a" }\n'
        'dependencies = [{ name = "b", extra = ["fast"] }]\n\n'
        '[package.dev-dependencies]\ndev = [{ name = "b" }]\n\n'
        '[[package]]\nname = "b"\nsource = { editable = "packages/b" }\n'
    )
    write_files(
        tmp_path,
        {
            "pyproject.toml": workspace_root(),
            "uv.lock": lock,
            "packages/a/pyproject.toml": project("a", "dependencies = []\n"),
            "packages/b/pyproject.toml": project("b"),
        },
    )
    result = discover(tmp_path)
    assert result.errors == []
    assert set(result.edges) == {
        Edge("a", "b", "normal", False, "lockfile-edge:b", ("fast",), False),
        Edge("a", "b", "dev", True, "lockfile-edge:group:dev:b", (), False),
    }
    a = next(c for c in result.components if c.name == "a")
    assert dict(a.features) == {"group:dev": ("dep:lockfile-edge:group:dev:b",)}
    assert result.global_inputs == ["pyproject.toml", "uv.lock"]


def test_file_url_requirements_are_edges(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "apps/a/pyproject.toml": project(
                "a",
                'dependencies = [\n  "b @ file:///${PROJECT_ROOT}/../../libs/b",\n'
                f'  "c @ file://{tmp_path}/libs/c",\n  "gone @ file:../gone",\n'
                '  "ext @ file:///nonexistent/ext",\n]\n',
            ),
            "libs/b/pyproject.toml": project("b"),
            "libs/c/pyproject.toml": project("c"),
        },
    )
    result = discover(tmp_path)
    assert {(e.source, e.target) for e in result.edges} == {("a", "b"), ("a", "c")}
    assert [e.code() for e in result.errors] == ["unresolved-dependency: apps/a/pyproject.toml:7"]
