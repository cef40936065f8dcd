from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lanes.globs import (
    GlobError,
    GlobList,
    GlobTable,
    compile_glob,
    literal_glob,
    literal_prefix_depth,
)


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


# --- linear-time matching (RE2) ---------------------------------------------------------------

REDOS = [
    ("**a**a**a**a**a**b", "a" * 150),
    ("**/**/**/**/a*a*a*a*b", "a/" * 10 + "a" * 200),
    ("*a*a*a*a*a*a*a*a*b", "a" * 5000),
]


@pytest.mark.parametrize(("pattern", "path"), REDOS)
def test_backtracking_patterns_compile_to_a_bounded_re2_program(pattern: str, path: str) -> None:
    import re2

    glob = compile_glob(pattern)

    # RE2 simulates an automaton: work per character is bounded by the program size, which is
    # linear in the pattern; no backtracking engine is involved.
    assert isinstance(glob.regexp, re2._Regexp)
    assert glob.program_size <= 12 * len(pattern)
    assert glob.match(path) is False
    assert GlobList((pattern, "!x")).matches(path) is False
    assert glob.match(path + "b") is True


def test_a_glob_list_is_one_re2_set_matched_once_per_path() -> None:
    import re2

    globs = GlobList(("**a**a**a**b", "docs/**", "!docs/x/**"))
    assert isinstance(globs._set, re2.Set)
    assert sorted(globs.matched("docs/x/y")) == [1, 2]
    assert globs.matching_pattern("docs/x/y") is None
    assert globs.matching_pattern("docs/y") == "docs/**"
    assert not GlobList(()).matches("anything")


@pytest.mark.parametrize(
    "pattern", ["[]", "a[]b", "[!]", "[z-a]", "x/[9-0].rs", "[[:alpha:]]", "[[=a=]]", "[[.a.]]"]
)
def test_bad_classes_are_glob_errors_without_warnings(pattern: str) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(GlobError):
            compile_glob(pattern)


@pytest.mark.parametrize("pattern", ["[]", "[z-a]", "!a[]b"])
def test_a_glob_list_refuses_a_bad_pattern_when_built_not_when_first_matched(pattern: str) -> None:
    with pytest.raises(GlobError):
        GlobList(("docs/**", pattern))


def test_a_glob_list_compiles_its_set_once_on_first_match() -> None:
    globs = GlobList(("src/**", "!src/gen/**"))
    assert globs._compiled is None  # a list only ever matched through a GlobTable costs nothing
    assert globs.matches("src/a.rs") and not globs.matches("src/gen/a.rs")
    compiled = globs._compiled
    assert compiled is not None
    assert globs.matches("src/b.rs") and globs._compiled is compiled


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("[a-c]x", "bx", True),
        ("[a-]x", "-x", True),
        ("[[]x", "[x", True),
        ("[^a]x", "/x", False),
        ("é?", "éü", True),
        ("*.rs", "caf\udce9.rs", True),
        ("caf?.rs", "caf\udce9.rs", True),
        ("**", "a\nb/\r\x1b", True),
        ("a+b(c)", "a+b(c)", True),
        ("a.b", "axb", False),
        ("\\", "\\", True),
    ],
)
def test_literals_classes_and_odd_names(pattern: str, path: str, expected: bool) -> None:
    assert compile_glob(pattern).match(path) is expected


def _reference(pattern: str) -> re.Pattern[str]:
    """The backtracking translation lanes used before RE2 (the semantics to keep)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*" if i == 0 or pattern[i - 1] == "/" else "[^/]*(?:/[^/]*)*/")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            negate = pattern[i + 1 : i + 2] in "!^"
            end = pattern.find("]", i + 2 if negate else i + 1)
            body = pattern[i + (2 if negate else 1) : end]
            body = body.replace("\\", "\\\\").replace("^", "\\^").replace("[", "\\[")
            # a "-" first or last is a literal (and "[^/-.]" would read as the range "/-.")
            if body.startswith("-"):
                body = "\\" + body
            if body.endswith("-") and not body.endswith("\\-"):
                body = body[:-1] + "\\-"
            out.append(("[^/" if negate else "[") + body + "]")
            i = end + 1
        else:
            out.append(re.escape(char))
            i += 1
    return re.compile(f"(?s:{''.join(out)})\\Z")


@example(pattern="[!-.]", path="-")  # a "-" first in a negated class is a literal
@settings(max_examples=500, deadline=None)
@given(
    pattern=st.text(alphabet="ab/*?[]!-.", min_size=1, max_size=10),
    path=st.text(alphabet="ab/.-\n", max_size=10),
)
def test_re2_matching_agrees_with_the_backtracking_translation(pattern: str, path: str) -> None:
    try:
        glob = compile_glob(pattern)
    except GlobError:
        return
    assert glob.match(path) is bool(_reference(pattern).match(path))


_GLOB = st.sampled_from(["a/**", "!a/b/**", "**/*.md", "*", "a/*", "!**/x", "b/?", "**"])


@settings(max_examples=300, deadline=None)
@given(
    lists=st.lists(st.lists(_GLOB, max_size=4), max_size=4),
    path=st.text(alphabet="abx/.m", min_size=1, max_size=8),
)
def test_a_glob_table_decides_each_list_as_the_list_alone_does(
    lists: list[list[str]], path: str
) -> None:
    globlists = [GlobList(tuple(patterns)) for patterns in lists]
    table = GlobTable(list(enumerate(globlists)))

    expected = {
        key: pattern
        for key, globs in enumerate(globlists)
        if (pattern := globs.matching_pattern(path)) is not None
    }
    assert table.deciding(path) == expected


def test_a_glob_table_keeps_each_list_negations_to_itself() -> None:
    table = GlobTable([("global", GlobList(("a/**", "!a/b/**"))), ("lane", GlobList(("a/b/**",)))])

    assert table.deciding("a/b/c") == {"lane": "a/b/**"}
    assert table.deciding("a/c") == {"global": "a/**"}
    assert table.deciding("z") == {}
    assert GlobTable([]).deciding("a") == {}


_LITERAL_TEXT = st.text(alphabet="ab/[]*?!", min_size=1, max_size=8)


@settings(max_examples=500, deadline=None)
@given(path=_LITERAL_TEXT, other=_LITERAL_TEXT)
@example(path="a]b", other="a]b")
@example(path="!a", other="!a")
def test_a_literal_glob_matches_its_path_and_no_other(path: str, other: str) -> None:
    glob = literal_glob(path)
    assert compile_glob(glob).match(path)
    assert GlobList((glob,)).matches(path)  # never read as a negation
    if not path.startswith("!"):
        assert compile_glob(glob).match(other) is (other == path)
