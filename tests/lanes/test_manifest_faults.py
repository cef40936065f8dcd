"""Manifest faults in real repositories: a manifest lanes cannot use is a fail-safe selection
with a reason code, cold and warm (cached) alike, never an internal error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lanes import cache
from lanes.discovery._common import load_toml
from tests.lanes.test_config_faults import CRATES, DETECT, make_repo, run_lanes

LANES = (
    "version: 1\nlanes:\n  app:\n    roots: [app]\n    run: git status\n"
    "  core:\n    roots: [core]\n    run: git status\n"
)
ROOT = '[workspace]\nmembers = ["core", "app"]\n\n[workspace.metadata]\n'
BROKEN_ROOTS = {
    "dotted-key-3000-parts": (ROOT + ".".join(["k"] * 3000) + " = 1\n", 5),
    "nested-arrays": (ROOT + "x = " + "[" * 3000 + "]" * 3000 + "\n", 0),
    "nested-inline-tables": (ROOT + "x = " + "{a = " * 2000 + "1" + "}" * 2000 + "\n", 0),
}


@pytest.mark.parametrize("case", sorted(BROKEN_ROOTS))
def test_a_root_manifest_lanes_cannot_use_fails_safe_cold_and_warm(
    tmp_path: Path, case: str
) -> None:
    text, line = BROKEN_ROOTS[case]
    repo = make_repo(tmp_path, {**CRATES, "Cargo.toml": text, "lanes.yml": LANES})

    for run in ("cold", "warm"):
        code, out, err = run_lanes(repo, *DETECT)
        assert code == 0, (run, err)
        data = json.loads(out)
        assert data["mode"] == "fail-safe", run
        assert sorted(data["selected"]) == ["app", "core"]
        codes = [c for c in data["failsafe"] if c.startswith("manifest-error: Cargo.toml")]
        assert codes, data["failsafe"]
        if line:
            assert codes == [f"manifest-error: Cargo.toml:{line}"]


def test_without_a_config_a_broken_root_manifest_is_an_error_naming_it(tmp_path: Path) -> None:
    text, _ = BROKEN_ROOTS["dotted-key-3000-parts"]
    repo = make_repo(tmp_path, {**CRATES, "Cargo.toml": text})

    code, out, err = run_lanes(repo, *DETECT)

    assert code == 2 and out == ""
    assert "nothing defines a lane" in err and "manifest-error: Cargo.toml:5" in err


def test_a_long_dotted_key_is_refused_before_tomllib_spends_quadratic_time(
    tmp_path: Path,
) -> None:
    (tmp_path / "Cargo.toml").write_text(ROOT + ".".join(["k"] * 20_000) + " = 1\n")

    loaded = load_toml(tmp_path, "Cargo.toml")

    assert loaded.data is None and loaded.error is not None
    assert loaded.error.line == 5
    assert "more than 1000 dots on one line" in loaded.error.message


def test_a_document_too_deep_for_json_is_not_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANES_CACHE_DIR", str(tmp_path))
    deep: dict[str, object] = {}
    node = deep
    for _ in range(5000):
        node["k"] = {}
        node = node["k"]  # type: ignore[assignment]

    cache.store_document("deep", deep)

    assert cache.load_document("deep") is None


# --- member globs: they come from the manifests, so from any pull request ----------------------

LONG_DIR = "a" * 200 + "b"
"""A member directory name a backtracking ``a*a*a*...b`` would take polynomial time on."""
MEMBER_REPOS = {
    "cargo": lambda pattern: {
        "Cargo.toml": f'[workspace]\nmembers = ["{pattern}"]\n',
        f"x/{LONG_DIR}/Cargo.toml": '[package]\nname = "long"\n',
        f"x/{LONG_DIR}/src/lib.rs": "\n",
    },
    "npm": lambda pattern: {
        "package.json": json.dumps({"name": "root", "private": True, "workspaces": [pattern]}),
        f"x/{LONG_DIR}/package.json": '{"name": "long"}',
        f"x/{LONG_DIR}/index.js": "\n",
    },
    "pnpm": lambda pattern: {
        "package.json": '{"name": "root", "private": true}',
        "pnpm-workspace.yaml": f"packages:\n  - '{pattern}'\n",
        f"x/{LONG_DIR}/package.json": '{"name": "long"}',
        f"x/{LONG_DIR}/index.js": "\n",
    },
    "python": lambda pattern: {
        "pyproject.toml": (
            '[project]\nname = "root"\nversion = "0"\n\n'
            f'[tool.uv.workspace]\nmembers = ["{pattern}"]\n'
        ),
        f"x/{LONG_DIR}/pyproject.toml": '[project]\nname = "long"\nversion = "0"\n',
        f"x/{LONG_DIR}/src/long/__init__.py": "\n",
    },
}
MEMBER_ROOT = {"cargo": "Cargo.toml", "npm": "package.json", "pnpm": "pnpm-workspace.yaml"}
MEMBER_LINE = {"cargo": 2, "npm": 1, "pnpm": 1, "python": 6}
REDOS_MEMBERS = ["x/**/a*a*a*a*a*a*a*b", "x/a*a*a*a*a*a*a*b", "**/**/**/**/**/a*a*a*a*a*b"]


@pytest.mark.parametrize("pattern", REDOS_MEMBERS)
@pytest.mark.parametrize("kind", sorted(MEMBER_REPOS))
def test_a_backtracking_member_glob_matches_in_linear_time(
    tmp_path: Path, kind: str, pattern: str
) -> None:
    # run_lanes bounds the run (a hang fails the test); the bound on steps is RE2's, below
    repo = make_repo(tmp_path, MEMBER_REPOS[kind](pattern))

    code, out, err = run_lanes(repo, *DETECT, stdin=f"x/{LONG_DIR}/index.js\n")

    assert code == 0, err
    data = json.loads(out)
    assert data["failsafe"] == [] and data["selected"] == ["long"], data


def test_member_globs_compile_to_bounded_re2_programs() -> None:
    import re2

    from lanes.discovery._common import member_regex

    for pattern in REDOS_MEMBERS:
        regexp = member_regex(pattern)
        assert isinstance(regexp, re2._Regexp)
        assert regexp.programsize <= 16 * len(pattern)
        assert regexp.fullmatch(f"x/{LONG_DIR[:-1]}/".encode()) is None
        assert regexp.fullmatch(f"x/{LONG_DIR}/".encode()) is not None


BAD_MEMBERS = ["x/**/[z-a]", "x/[z-a]", "x/**/[!]", "x/[]", "x/**/a["]


@pytest.mark.parametrize("pattern", BAD_MEMBERS)
@pytest.mark.parametrize("kind", sorted(MEMBER_REPOS))
def test_a_member_glob_lanes_cannot_read_fails_safe(
    tmp_path: Path, kind: str, pattern: str
) -> None:
    repo = make_repo(tmp_path, MEMBER_REPOS[kind](pattern))

    for run in ("cold", "warm"):
        code, out, err = run_lanes(repo, *DETECT, stdin=f"x/{LONG_DIR}/index.js\n")
        assert code in (0, 2), (run, err)
        assert "internal error" not in err and "Warning" not in err, err
        root = MEMBER_ROOT.get(kind, "pyproject.toml")
        if code == 2:  # nothing else defines a lane: the error names the manifest
            assert f"manifest-error: {root}:{MEMBER_LINE[kind]}" in err, err
            continue
        data = json.loads(out)
        assert data["mode"] == "fail-safe", (run, data)
        assert f"manifest-error: {root}:{MEMBER_LINE[kind]}" in data["failsafe"], data


@pytest.mark.parametrize("kind", sorted(MEMBER_REPOS))
def test_a_posix_class_in_a_member_glob_leaks_no_warning(tmp_path: Path, kind: str) -> None:
    repo = make_repo(tmp_path, MEMBER_REPOS[kind]("x/**/[[:alpha:]]"))

    code, _, err = run_lanes(repo, *DETECT, stdin=f"x/{LONG_DIR}/index.js\n")

    assert code in (0, 2) and "internal error" not in err, err
    assert "Warning" not in err, err
