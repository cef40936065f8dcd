from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lanes.discovery import _common, cargo, ecosystem, python
from lanes.discovery._common import expand_members, join_dir, line_of_key, normdir
from tests.lanes.fixtures import write_files


@pytest.mark.parametrize(
    ("path", "expected"),
    [("", ""), (".", ""), ("./a/b/", "a/b"), ("a//b/./c", "a/b/c"), ("a\\b", "a/b")],
)
def test_normdir(path: str, expected: str) -> None:
    assert normdir(path) == expected


@pytest.mark.parametrize(
    ("base", "relative", "expected"),
    [
        ("crates/a", "../b", "crates/b"),
        ("a", "./b/../c/", "a/c"),
        ("", "x", "x"),
        ("a", "..", ""),
        ("a", "../..", None),
        ("", "../outside", None),
        ("a", "/abs", None),
        ("a", "C:\\dir", None),
        ("a", "..\\b", "b"),
    ],
)
def test_join_dir(base: str, relative: str, expected: str | None) -> None:
    assert join_dir(base, relative) == expected


def test_line_of_key_finds_definitions_and_headers() -> None:
    text = '[package]\ndescription = "has name: in it"\nname = "x"\n\n[dev-dependencies]\nb = 1\n'
    assert line_of_key(text, "name") == 3
    assert line_of_key(text, "dev-dependencies") == 5
    assert line_of_key(text, "b") == 6
    assert line_of_key(text, "missing") == 0
    assert line_of_key('{\n  "workspaces": "x"\n}', "workspaces") == 2


def test_expand_members_globs_and_excludes(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "crates/a/M": "",
            "crates/b/M": "",
            "crates/b/nested/M": "",
            "crates/.hidden/M": "",
            "crates/file.txt": "",
            "tools/deep/er/x1/M": "",
            "tools/.cache/x2/M": "",
            "tools/node_modules/x3/M": "",
            "tools/x4/M": "",
        },
    )
    members = expand_members(
        tmp_path,
        ["./crates/*/", "tools/**/x?", "crates/a", "../escape", "missing"],
        ["crates/b"],
        "M",
        skip_segments=frozenset({"node_modules"}),
    )
    assert members.dirs == ["crates/a", "tools/deep/er/x1", "tools/x4"]
    assert members.missing == ["missing"]
    assert members.outside == ["../escape"]


def test_expand_members_character_classes(tmp_path: Path) -> None:
    write_files(tmp_path, {"p/a1/M": "", "p/b1/M": "", "p/c1/M": "", "q/x/y/M": ""})
    assert expand_members(tmp_path, ["p/[!b]1"], [], "M").dirs == ["p/a1", "p/c1"]
    assert expand_members(tmp_path, ["q/**"], [], "M").dirs == ["q/x/y"]
    assert expand_members(tmp_path, ["q/**"], [], "M").missing == ["q", "q/x"]


def test_toml_error_line() -> None:
    assert _common.toml_error_line("Invalid value (at line 7, column 3)", "") == 7
    assert _common.toml_error_line("Invalid value (at end of document)", "a\nb\n") == 2
    assert _common.toml_error_line("strange", "a\n") == 0


def test_deeply_nested_toml_is_an_error_not_a_crash(tmp_path: Path) -> None:
    write_files(tmp_path, {"Cargo.toml": "x = " + "[" * 5000 + "]" * 5000 + "\n"})
    result = cargo.parse(tmp_path, cargo.locate(tmp_path))
    assert [e.path for e in result.errors] == ["Cargo.toml"]


def test_manifest_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").mkdir()
    assert python.locate(tmp_path) == []
    result = python.parse(tmp_path, ["pyproject.toml"])
    assert [(e.path, e.line) for e in result.errors] == [("pyproject.toml", 0)]


def test_missing_package_name_points_at_table(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["crates/*"]\n',
            "crates/nameless/Cargo.toml": '# a crate\n[package]\nversion = "1.0.0"\n',
        },
    )
    result = cargo.parse(tmp_path, cargo.locate(tmp_path))
    assert [c.name for c in result.components] == ["nameless"]
    assert [(e.path, e.line) for e in result.errors] == [("crates/nameless/Cargo.toml", 2)]


_LAYOUTS = {
    "cargo": ("Cargo.toml", '[workspace]\nmembers = ["m"]\n', "m/Cargo.toml"),
    "python": ("pyproject.toml", '[tool.uv.workspace]\nmembers = ["m"]\n', "m/pyproject.toml"),
    "npm": ("package.json", '{"workspaces": ["m"]}', "m/package.json"),
}
_MANIFEST_TEXT = st.one_of(
    st.text(max_size=200),
    st.sampled_from(
        [
            '[package]\nname = "m"\n[dependencies]\nx = { path = 3 }\n',
            "[project]\nname = 'm'\ndependencies = [1]\n[tool.uv]\nsources = []\n",
            '{"name": "m", "dependencies": {"x": {}}, "peerDependencies": []}',
            '{"name": 7, "workspaces": {"packages": 1}}',
            "[target]\n'cfg(unix)' = 1\n[dependency-groups]\ndev = [{include-group = 1}]\n",
        ]
    ),
)


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(sorted(_LAYOUTS)), text=_MANIFEST_TEXT)
def test_any_member_manifest_yields_component_or_error(kind: str, text: str) -> None:
    root_name, root_text, member = _LAYOUTS[kind]
    module = ecosystem(kind)
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        write_files(repo, {root_name: root_text, member: text})
        result = module.parse(repo, module.locate(repo))
    owned = [c for c in result.components if c.directory == "m"]
    assert len(owned) == 1
    assert all(e.line >= 0 for e in result.errors)


def test_line_of_key_in_section() -> None:
    text = (
        "[dependencies]\nb = 1\n\n[dev-dependencies]\nb = 2\n"
        "[target.'cfg(unix)'.dependencies]\nb = 3\n[target.'cfg(windows)'.dependencies]\nb = 4\n"
    )
    assert line_of_key(text, "b", section=("dependencies",)) == 2
    assert line_of_key(text, "b", section=("dev-dependencies",)) == 5
    assert line_of_key(text, "b", section=("cfg(windows)", "dependencies")) == 9
    assert line_of_key(text, "b", section=("build-dependencies",)) == 2
    assert line_of_key("[a]\nx = 1\n[b]\n", "x", section=("b",)) == 2


def test_bad_dependency_error_points_into_its_table(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["a"]\n',
            "a/Cargo.toml": (
                '[package]\nname = "a"\n[dependencies]\nb = "1"\n'
                "[target.'cfg(unix)'.dependencies]\nb = 5\n"
            ),
        },
    )
    result = cargo.parse(tmp_path, cargo.locate(tmp_path))
    assert [(e.path, e.line) for e in result.errors] == [("a/Cargo.toml", 6)]
    assert result.errors[0].message.startswith("[target.cfg(unix).dependencies] b:")
