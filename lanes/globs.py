"""GitHub Actions ``paths`` glob syntax, compiled to regular expressions.

Patterns are anchored at the repository root: ``*`` matches within one path segment, ``**``
across segments, ``?`` one character, ``[...]`` a class. In a list, a leading ``!`` excludes
what earlier entries matched. ``Cargo.toml`` is the root file only; ``**/Cargo.toml`` any.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache


class GlobError(ValueError):
    """A pattern that cannot be compiled (unterminated class, empty pattern ...)."""


def _translate_class(pattern: str, start: int) -> tuple[str, int]:
    end = pattern.find("]", start + 2 if pattern[start + 1 : start + 2] in "!^" else start + 1)
    if end < 0:
        raise GlobError(f"unterminated character class in {pattern!r}")
    body = pattern[start + 1 : end]
    negate = body[:1] in ("!", "^")
    if negate:
        body = body[1:]
    body = body.replace("\\", "\\\\").replace("^", "\\^")
    return ("[^/" if negate else "[") + body + "]", end + 1


def translate(pattern: str) -> str:
    """The regular expression source (without anchors) for one glob."""
    if not pattern:
        raise GlobError("empty pattern")
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
            part, i = _translate_class(pattern, i)
            out.append(part)
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)


@lru_cache(maxsize=4096)
def compile_glob(pattern: str) -> re.Pattern[str]:
    return re.compile(f"(?s:{translate(pattern)})\\Z")


def literal_prefix_depth(pattern: str) -> int:
    """How many leading path segments of ``pattern`` are literal (used for owner depth)."""
    depth = 0
    for segment in pattern.split("/")[:-1]:
        if any(c in segment for c in "*?["):
            break
        depth += 1
    return depth


class GlobList:
    """An ordered list of globs where ``!pattern`` removes earlier matches (compiled eagerly, so
    a bad pattern raises :class:`GlobError` here)."""

    __slots__ = ("patterns",)

    def __init__(self, patterns: tuple[str, ...]) -> None:
        for pattern in patterns:
            compile_glob(pattern.removeprefix("!"))
        self.patterns = patterns

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GlobList) and other.patterns == self.patterns

    def __hash__(self) -> int:
        return hash(self.patterns)

    def __repr__(self) -> str:
        return f"GlobList({self.patterns!r})"

    def matches(self, path: str) -> bool:
        matched = False
        for pattern in self.patterns:
            negated = pattern.startswith("!")
            if matched == negated and compile_glob(pattern.removeprefix("!")).match(path):
                matched = not negated
        return matched

    def matching_pattern(self, path: str) -> str | None:
        """The last positive pattern deciding a match, for explanations."""
        decided: str | None = None
        for pattern in self.patterns:
            if pattern.startswith("!"):
                if decided is not None and compile_glob(pattern[1:]).match(path):
                    decided = None
            elif compile_glob(pattern).match(path):
                decided = pattern
        return decided

    def unused(self, paths: Iterable[str]) -> list[str]:
        """Positive patterns that match none of ``paths`` (stale rules)."""
        remaining = {p for p in self.patterns if not p.startswith("!")}
        for path in paths:
            if not remaining:
                break
            remaining -= {p for p in remaining if compile_glob(p).match(path)}
        return [p for p in self.patterns if p in remaining]


@lru_cache(maxsize=4096)
def globlist(patterns: tuple[str, ...]) -> GlobList:
    """A shared, compiled ``GlobList`` for ``patterns`` (hot paths build them once)."""
    return GlobList(patterns)
