"""GitHub Actions ``paths`` glob syntax, matched in linear time by RE2.

Patterns are anchored at the repository root: ``*`` matches within one path segment, ``**``
across segments, ``?`` one character, ``[...]`` a class (``[!...]`` or ``[^...]`` negated, never
matching ``/``). In a list, a leading ``!`` excludes what earlier entries matched.
``Cargo.toml`` is the root file only; ``**/Cargo.toml`` any.

Globs come from the configuration and paths from any pull request, so a backtracking engine
would let a pattern such as ``**a**a**a**b`` stall a run for minutes. RE2 (``google-re2``)
compiles every pattern to an automaton and matches in time linear in the path; a whole
:class:`GlobList` is one ``RE2::Set`` that reports every pattern matching a path in one pass.
``re2`` is imported on first use, so commands that match nothing do not load it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from functools import lru_cache
from typing import Any

_SAFE_LITERAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_/")


class GlobError(ValueError):
    """A pattern that cannot be compiled (unterminated or empty class, reversed range ...)."""


def _re2() -> Any:
    import re2

    return re2


def _literal(char: str) -> str:
    return char if char in _SAFE_LITERAL else f"\\x{{{ord(char):x}}}"


def _class_items(pattern: str, body: str) -> str:
    """The RE2 class items for a glob class body: single characters and ``a-z`` ranges."""
    if not body:
        raise GlobError(f"empty character class in {pattern!r}")
    if any(f"[{mark}" in body for mark in ":=."):
        raise GlobError(f"POSIX character classes ([:alpha:] ...) are not supported: {pattern!r}")
    items: list[str] = []
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            low, high = body[i], body[i + 2]
            if low > high:
                raise GlobError(f"reversed range {low}-{high} in {pattern!r}")
            items.append(f"{_literal(low)}-{_literal(high)}")
            i += 3
        else:
            items.append(_literal(body[i]))
            i += 1
    return "".join(items)


def _translate_class(pattern: str, start: int) -> tuple[str, int]:
    negate = pattern[start + 1 : start + 2] in ("!", "^")
    first = start + 2 if negate else start + 1
    end = pattern.find("]", first)
    if end < 0:
        raise GlobError(f"unterminated character class in {pattern!r}")
    items = _class_items(pattern, pattern[first:end])
    return ("[^/" if negate else "[") + items + "]", end + 1


def translate(pattern: str) -> str:
    """The RE2 source (without anchors) for one glob."""
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
            out.append("(?s:.*)")
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
            out.append(_literal(char))
            i += 1
    return "".join(out)


def _subject(path: str) -> bytes:
    """``path`` as RE2 input. ``surrogatepass`` keeps each ``surrogateescape``d byte of a name
    that is not UTF-8 one character, as ``?`` and ``*`` expect."""
    return path.encode("utf-8", "surrogatepass")


class Glob:
    """One compiled glob; ``match`` is a whole-path match."""

    __slots__ = ("pattern", "regexp")

    def __init__(self, pattern: str) -> None:
        source = translate(pattern)
        re2 = _re2()
        try:
            self.regexp = re2.compile(f"(?:{source})\\z")
        except re2.error as error:
            raise GlobError(f"cannot compile {pattern!r}: {error}") from None
        self.pattern = pattern

    def match(self, path: str) -> bool:
        return self.regexp.match(_subject(path)) is not None

    @property
    def program_size(self) -> int:
        """The size of RE2's compiled program (linear in the pattern's length)."""
        size: int = self.regexp.programsize
        return size


@lru_cache(maxsize=4096)
def _translated(pattern: str) -> str:
    return translate(pattern)


@lru_cache(maxsize=4096)
def compile_glob(pattern: str) -> Glob:
    return Glob(pattern)


_ESCAPES = {ord(char): f"[{char}]" for char in "[*?"}


def literal_glob(path: str) -> str:
    """A glob matching exactly ``path``: ``[``, ``*`` and ``?`` each in a class of its own
    (``]`` outside a class is literal already), and a leading ``!``, which would negate in a
    list, as ``?`` (one more match at most: never fewer)."""
    escaped = path.translate(_ESCAPES)
    return f"?{escaped[1:]}" if escaped.startswith("!") else escaped


def literal_prefix_depth(pattern: str) -> int:
    """How many leading path segments of ``pattern`` are literal (used for owner depth)."""
    depth = 0
    for segment in pattern.split("/")[:-1]:
        if any(c in segment for c in "*?["):
            break
        depth += 1
    return depth


class GlobList:
    """An ordered list of globs where ``!pattern`` removes earlier matches, matched as one RE2
    set. A pattern that does not translate raises :class:`GlobError` here; the set is compiled
    on the first match, since most lists of a run are only ever matched through a
    :class:`GlobTable` (which compiles its own set).

    The last entry matching a path decides: a positive one includes it, a ``!`` one excludes
    it (what walking the list in order and toggling gives)."""

    __slots__ = ("_compiled", "_negated", "patterns")

    def __init__(self, patterns: tuple[str, ...]) -> None:
        for pattern in patterns:
            _translated(pattern.removeprefix("!"))
        self.patterns = patterns
        self._negated = tuple(pattern.startswith("!") for pattern in patterns)
        self._compiled: Any = None

    @property
    def _set(self) -> Any:
        if self._compiled is None and self.patterns:
            self._compiled = _compile_set(self.patterns)
        return self._compiled

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GlobList) and other.patterns == self.patterns

    def __hash__(self) -> int:
        return hash(self.patterns)

    def __repr__(self) -> str:
        return f"GlobList({self.patterns!r})"

    def matched(self, path: str) -> list[int]:
        """The indices of every entry whose glob matches ``path`` (``!`` ignored), in one pass."""
        if self._set is None:
            return []
        found: list[int] | None = self._set.Match(_subject(path))
        return found or []

    def _deciding(self, path: str) -> int | None:
        found = self.matched(path)
        if not found:
            return None
        last = max(found)
        return None if self._negated[last] else last

    def matches(self, path: str) -> bool:
        return self._deciding(path) is not None

    def matching_pattern(self, path: str) -> str | None:
        """The last positive pattern deciding a match, for explanations."""
        index = self._deciding(path)
        return None if index is None else self.patterns[index]

    def unused(self, paths: Iterable[str]) -> list[str]:
        """Positive patterns that match none of ``paths`` (stale rules)."""
        remaining = {i for i, negated in enumerate(self._negated) if not negated}
        for path in paths:
            if not remaining:
                break
            remaining.difference_update(self.matched(path))
        return [self.patterns[i] for i in sorted(remaining)]


class GlobTable:
    """Several named :class:`GlobList` decided together: one RE2 set holds every pattern of
    every list, so a path costs one match however many lists there are (``global``, ``ignore``
    and each lane's ``paths``); each list is still decided by its own last matching entry."""

    __slots__ = ("_lists", "_owners", "_set")

    def __init__(self, lists: Iterable[tuple[Hashable, GlobList]]) -> None:
        self._lists = [(key, globs) for key, globs in lists if globs.patterns]
        self._owners = [
            (position, index)
            for position, (_, globs) in enumerate(self._lists)
            for index in range(len(globs.patterns))
        ]
        patterns = tuple(p for _, globs in self._lists for p in globs.patterns)
        self._set: Any = _compile_set(patterns) if patterns else None

    def deciding(self, path: str) -> dict[Hashable, str]:
        """Each list whose deciding entry for ``path`` is positive, with that pattern."""
        if self._set is None:
            return {}
        found: list[int] | None = self._set.Match(_subject(path))
        if not found:
            return {}
        last: dict[int, int] = {}
        for entry in found:
            position, index = self._owners[entry]
            if index > last.get(position, -1):
                last[position] = index
        decided: dict[Hashable, str] = {}
        for position, index in last.items():
            key, globs = self._lists[position]
            if not globs._negated[index]:
                decided[key] = globs.patterns[index]
        return decided


def _compile_set(patterns: tuple[str, ...]) -> Any:
    re2 = _re2()
    globs = re2.Set.FullMatchSet()
    for pattern in patterns:
        try:
            globs.Add(f"(?:{_translated(pattern.removeprefix('!'))})")
        except re2.error as error:
            raise GlobError(f"cannot compile {pattern!r}: {error}") from None
    try:
        globs.Compile()
    except re2.error as error:
        raise GlobError(f"cannot compile the list {list(patterns)!r}: {error}") from None
    return globs


@lru_cache(maxsize=4096)
def globlist(patterns: tuple[str, ...]) -> GlobList:
    """A shared, compiled ``GlobList`` for ``patterns`` (hot paths build them once)."""
    return GlobList(patterns)
