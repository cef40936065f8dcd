from __future__ import annotations

import pytest

from lanes.globs import GlobError, GlobList, compile_glob, literal_prefix_depth


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("Cargo.toml", "Cargo.toml", True),
        ("Cargo.toml", "crates/a/Cargo.toml", False),
        ("**/Cargo.toml", "crates/a/Cargo.toml", True),
        ("**/Cargo.toml", "Cargo.toml", True),
        ("docs/**", "docs/a/b/c.md", True),
        ("docs/**", "docsx/a.md", False),
        ("*.md", "README.md", True),
        ("*.md", "core/README.md", False),
        ("core/*", "core/lib.rs", True),
        ("core/*", "core/src/lib.rs", False),
        ("a/**/b", "a/b", True),
        ("a/**/b", "a/x/y/b", True),
        ("a?c", "abc", True),
        ("a?c", "a/c", False),
        ("[ab]x", "bx", True),
        ("[!ab]x", "cx", True),
        ("[!ab]x", "ax", False),
        ("core/x*", "core/x\nsdk=false", True),
        ("lib.rs", "lib\\.rs", False),
    ],
)
def test_github_paths_syntax(pattern: str, path: str, expected: bool) -> None:
    assert bool(compile_glob(pattern).match(path)) is expected


def test_negation_excludes_earlier_matches_only() -> None:
    globs = GlobList(("docs/**", "!docs/api/**", "docs/api/keep.md"))
    assert globs.matches("docs/guide.md")
    assert not globs.matches("docs/api/ref.md")
    assert globs.matches("docs/api/keep.md")
    assert globs.matching_pattern("docs/api/keep.md") == "docs/api/keep.md"
    assert globs.matching_pattern("docs/api/ref.md") is None


def test_unused_reports_positive_patterns_matching_nothing() -> None:
    globs = GlobList(("src/**", "old/**", "!src/gen/**"))
    assert globs.unused(["src/a.py", "README.md"]) == ["old/**"]


def test_bad_pattern_is_an_error() -> None:
    with pytest.raises(GlobError):
        compile_glob("core/[abc")
    with pytest.raises(GlobError):
        compile_glob("")


def test_literal_prefix_depth() -> None:
    assert literal_prefix_depth("core/**") == 1
    assert literal_prefix_depth("crates/core/src/*.rs") == 3
    assert literal_prefix_depth("**/x") == 0
