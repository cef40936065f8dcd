"""Helpers shared by the ecosystem modules: member globs, manifest loading, error lines."""

import functools
import itertools
import json
import posixpath
import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from lanes.discovery._source import Source, Tree, as_tree
from lanes.model import Component, Discovery, Edge, EdgeKind, ManifestError

# Patterns used only on errors or while parsing are compiled on first use (re caches them).
_TOML_LINE = r"\(at line (\d+), column \d+\)"
_GLOB_CHARS = frozenset("*?[")
_HEADER = r"(?m)^[ \t]*\[([^\[\]\n]+)\][ \t]*(?:#.*)?$"


def normdir(path: str) -> str:
    """A repository-relative directory in canonical form: POSIX, no ``./``, ``""`` for the root."""
    norm = posixpath.normpath(path.replace("\\", "/")) if path else "."
    return "" if norm == "." else norm


def join_dir(base: str, relative: str) -> str | None:
    """``relative`` resolved against directory ``base``; ``None`` if it leaves the repository."""
    relative = relative.replace("\\", "/")
    if relative.startswith("/") or relative[1:2] == ":":
        return None
    parts = base.split("/") if base else []
    for segment in relative.split("/"):
        if segment == "..":
            if not parts:
                return None
            parts.pop()
        elif segment not in ("", "."):
            parts.append(segment)
    return "/".join(parts)


def manifest_path(directory: str, filename: str) -> str:
    return f"{directory}/{filename}" if directory else filename


def repo_name(tree: Tree) -> str:
    """The name of the repository's directory: the last resort for naming a root package."""
    return posixpath.basename(tree.root.replace("\\", "/"))


def dirname(manifest: str) -> str:
    """The directory of a repository-relative manifest path (already normalized)."""
    return manifest.rpartition("/")[0]


class Members(NamedTuple):
    """The directories a workspace's member patterns designate.

    ``dirs`` hold the marker file; ``missing`` are matched directories (or literal members) without
    it; ``outside`` are patterns that leave the repository.
    """

    dirs: list[str]
    missing: list[str]
    outside: list[str]


def _is_glob(pattern: str) -> bool:
    return any(char in _GLOB_CHARS for char in pattern)


def _clean_pattern(pattern: str) -> str | None:
    cleaned = pattern.strip().replace("\\", "/").rstrip("/")
    while cleaned.startswith("./"):
        cleaned = cleaned[2:]
    if cleaned in ("", "."):
        return ""
    if join_dir("", cleaned) is None:
        return None
    return cleaned


def _expand(tree: Tree, pattern: str, skip: frozenset[str]) -> tuple[list[str], bool]:
    """Directories matched by ``pattern``, and whether it is a literal path (none for a
    pattern lanes cannot read: :func:`member_glob_problems` reports it)."""
    if not _is_glob(pattern):
        return [normdir(pattern)], True
    try:
        member_regex(pattern)
    except MemberGlobError:
        return [], False
    if "**" in pattern:
        return _walk(tree, pattern, skip), False
    return [normdir(m) for m in _glob_dirs(tree, pattern.split("/"))], False


class MemberGlobError(ValueError):
    """A member glob lanes cannot read (a reversed range, an empty or unterminated class)."""


def _member_literal(char: str) -> str:
    return char if char.isalnum() and char.isascii() else f"\\x{{{ord(char):x}}}"


def _class_ranges(low: str, high: str) -> list[str]:
    """``low-high`` as RE2 class items, without ``/`` (a member glob never crosses a segment)."""
    if low > high:
        raise MemberGlobError(f"reversed range {low}-{high}")
    pieces = [(low, high)]
    if low <= "/" <= high:  # split around "/", dropping a side that is then empty
        below, above = (low, chr(ord("/") - 1)), (chr(ord("/") + 1), high)
        pieces = [(a, b) for a, b in (below, above) if a <= b]
    return [f"{_member_literal(a)}-{_member_literal(b)}" for a, b in pieces]


def _member_class(body: str) -> str:
    """A glob class body (``!`` or ``^`` first negates) as an RE2 class never matching ``/``."""
    negate = body[:1] in ("!", "^")
    body = body[1:] if negate else body
    if not body:
        raise MemberGlobError("empty character class")
    items: list[str] = []
    index = 0
    while index < len(body):
        if index + 2 < len(body) and body[index + 1] == "-":
            items += _class_ranges(body[index], body[index + 2])
            index += 3
        else:
            items += [] if body[index] == "/" else [_member_literal(body[index])]
            index += 1
    if not items:
        raise MemberGlobError("empty character class")
    return f"[^/{''.join(items)}]" if negate else f"[{''.join(items)}]"


def _glob_dirs(tree: Tree, segments: list[str]) -> list[str]:
    """The directories ``segments`` match, as ``glob.glob(pattern + "/")`` finds them: a
    wildcard segment matches no hidden name unless it starts with a dot; links are followed."""
    found = [""]
    for segment in segments:
        if not _is_glob(segment):
            found = [join for base in found if tree.is_dir(join := _joined(base, segment))]
            continue
        hidden = segment.startswith(".")
        found = [
            _joined(base, entry.name)
            for base in found
            for entry in tree.list_dir(base)
            if entry.is_dir
            and (hidden or not entry.name.startswith("."))
            and _segment_matches(segment, entry.name)
        ]
    return found


def _joined(base: str, name: str) -> str:
    return f"{base}/{name}" if base else name


def _segment_matches(segment: str, name: str) -> bool:
    return member_regex(segment).fullmatch(f"{name}/".encode("utf-8", "surrogatepass")) is not None


def _segment_regex(segment: str) -> str:
    """One path segment of a member glob as RE2 source consuming ``segment/``."""
    if segment == "**":
        return "(?:[^/]+/)*"
    out: list[str] = []
    index = 0
    while index < len(segment):
        char = segment[index]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            close = segment.find("]", index + 2)
            if close < 0:
                raise MemberGlobError("unterminated character class")
            out.append(_member_class(segment[index + 1 : close]))
            index = close
        else:
            out.append(_member_literal(char))
        index += 1
    return "".join(out) + "/"


@functools.lru_cache(maxsize=1024)
def member_regex(pattern: str) -> Any:
    """``pattern`` (a member glob, ``/``-separated) compiled by RE2, matched against a
    directory path with a trailing ``/``: member globs come from manifests, so from any pull
    request, and a backtracking engine would let ``a*a*a*a*a*b`` stall discovery. Raises
    :class:`MemberGlobError` for a pattern lanes cannot read."""
    import re2

    source = "".join(_segment_regex(part) for part in pattern.split("/"))
    try:
        return re2.compile(source)
    except re2.error as error:
        raise MemberGlobError(f"cannot compile: {error}") from None


def member_glob_problems(patterns: Iterable[str]) -> list[str]:
    """A message for each member pattern lanes cannot read (it then matches nothing, and
    the manifest is reported so that the selection fails safe)."""
    problems = []
    for pattern in patterns:
        cleaned = _clean_pattern(pattern.removeprefix("!"))
        if not cleaned or not _is_glob(cleaned):
            continue
        try:
            member_regex(cleaned)
        except MemberGlobError as error:
            problems.append(f"workspace member pattern {pattern!r}: {error}")
    return problems


def _walk(tree: Tree, pattern: str, skip: frozenset[str]) -> list[str]:
    """``**`` patterns: walk below the literal prefix, never into hidden or ``skip`` dirs, nor
    through symbolic links (as ``os.walk``)."""
    segments = pattern.split("/")
    literal = list(itertools.takewhile(lambda part: not _is_glob(part), segments))
    regex = member_regex(pattern)
    start = normdir("/".join(literal))
    found: list[str] = []
    pending = [start] if tree.is_dir(start) else []
    while pending:
        current = pending.pop()
        if regex.fullmatch(f"{current}/".encode("utf-8", "surrogatepass") if current else b""):
            found.append(current)
        pending.extend(
            _joined(current, entry.name)
            for entry in tree.list_dir(current)
            if entry.is_dir
            and not entry.is_link
            and not entry.name.startswith(".")
            and entry.name not in skip
        )
    return found


def _excluded(directory: str, excluded: set[str]) -> bool:
    if directory in excluded:
        return True
    parts = directory.split("/")
    return any("/".join(parts[:i]) in excluded for i in range(1, len(parts)))


def _skip_dir(directory: str, skip_segments: frozenset[str]) -> bool:
    return bool(skip_segments) and not skip_segments.isdisjoint(directory.split("/"))


def expand_members(
    source: Source,
    patterns: Iterable[str],
    excludes: Iterable[str],
    marker: str,
    *,
    skip_segments: frozenset[str] = frozenset(),
    known: frozenset[str] = frozenset(),
) -> Members:
    """Expand member globs (``*``, ``?``, ``[...]``, ``**``) on the filesystem.

    A member is dropped when it equals or lies under a directory an exclude pattern matches.
    Directories containing one of ``skip_segments`` (e.g. ``node_modules``) are never members.
    ``known`` directories are taken to hold the marker without looking.
    """
    tree = as_tree(source)
    excluded: set[str] = set()
    for pattern in excludes:
        cleaned = _clean_pattern(pattern)
        if cleaned is not None:
            excluded.update(_expand(tree, cleaned, skip_segments)[0])
    result = Members([], [], [])
    seen: set[str] = set()
    for pattern in patterns:
        cleaned = _clean_pattern(pattern)
        if cleaned is None:
            result.outside.append(pattern)
            continue
        matched, literal = _expand(tree, cleaned, skip_segments)
        for directory in sorted(matched):
            if directory in seen or _excluded(directory, excluded):
                continue
            if _skip_dir(directory, skip_segments):
                continue
            seen.add(directory)
            if directory in known or tree.is_file(manifest_path(directory, marker)):
                result.dirs.append(directory)
            elif literal or tree.is_dir(directory):
                result.missing.append(directory)
    return result


def check_members(
    tree: Tree,
    patterns: list[str],
    excludes: list[str],
    marker: str,
    root: "Loaded",
    out: "Collector",
) -> None:
    """Report member directories without ``marker``; located manifests are not looked at again."""
    known = frozenset(dirname(path) for path in out.result.manifests)
    members = expand_members(tree, patterns, excludes, marker, known=known)
    for directory in members.missing:
        message = f"workspace member {directory or '.'!r} has no {marker}"
        out.error_at_key(root, "members", message)


def line_of_key(text: str, key: str, *, section: tuple[str, ...] = ()) -> int:
    """Best-effort 1-based line where ``key`` is defined (``key =``, ``"key":``, a header); 0.

    With ``section`` (a table name, after the names of tables it nests in), the first definition
    after that table's header wins; otherwise the first in the file.
    """
    start = _header_offset(text, section) if section else 0
    token = rf"""["']?{re.escape(key)}["']?"""
    for pattern in (
        rf"^[ \t]*{token}[ \t]*[=:]",
        rf"^[ \t]*\[+[^\]\n]*(?<![\w-]){token}(?![\w-])[^\]\n]*\]",
        rf"(?<![\w-]){token}[ \t]*[=:.]",
    ):
        match = re.compile(pattern, re.MULTILINE).search(text, start)
        if match:
            return text.count("\n", 0, match.start()) + 1
    return line_of_key(text, key) if start else 0


def _header_offset(text: str, words: tuple[str, ...]) -> int:
    """Offset of the table header named ``words[-1]``, nested under the other ``words``."""
    *parents, last = words
    for match in re.finditer(_HEADER, text):
        name = match.group(1).strip()
        if parents and name.endswith(f".{last}") and all(p in name for p in parents):
            return match.start()
        if not parents and name == last:
            return match.start()
    return 0


def line_of_text(text: str, needle: str) -> int:
    """1-based line of the first occurrence of ``needle``; 0 when absent."""
    index = text.find(needle)
    return text.count("\n", 0, index) + 1 if index >= 0 else 0


def toml_error_line(message: str, text: str) -> int:
    match = re.search(_TOML_LINE, message)
    if match:
        return int(match.group(1))
    if "end of document" in message:
        return max(1, text.count("\n") + (0 if text.endswith("\n") else 1))
    return 0


class Loaded(NamedTuple):
    """A manifest's text and parsed document (``None`` when it could not be parsed)."""

    path: str
    text: str
    data: dict[str, Any] | None
    error: ManifestError | None = None


_ABSENT = "No such file or directory"


def read_text(tree: Source, path: str) -> tuple[str | None, ManifestError | None]:
    try:
        raw = as_tree(tree).read(path)
    except OSError as exc:
        return None, ManifestError(path, 0, f"cannot read manifest: {exc.strerror or exc}")
    if raw is None:
        return None, ManifestError(path, 0, f"cannot read manifest: {_ABSENT}")
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return None, ManifestError(path, line, "manifest is not valid UTF-8")


MAX_TOML_DOTS_PER_LINE = 1000
"""tomllib takes time quadratic in a dotted key's length (20,000 parts: 30 s); no manifest
needs a line with this many dots, so such a document is a manifest error (fail-safe)."""


def _dotted_line(text: str) -> int:
    """The 1-based line holding more than ``MAX_TOML_DOTS_PER_LINE`` dots, or 0."""
    if text.count(".") <= MAX_TOML_DOTS_PER_LINE:
        return 0
    for number, line in enumerate(text.splitlines(), 1):
        if line.count(".") > MAX_TOML_DOTS_PER_LINE:
            return number
    return 0


def load_toml(tree: Source, path: str) -> Loaded:
    text, error = read_text(tree, path)
    if text is None:
        return Loaded(path, "", None, error)
    return parse_toml(path, text)


def parse_toml(path: str, text: str) -> Loaded:
    """``text`` (the contents of ``path``) parsed as TOML, bounded as every manifest is."""
    dotted = _dotted_line(text)
    if dotted:
        message = f"invalid TOML: more than {MAX_TOML_DOTS_PER_LINE} dots on one line (refused)"
        return Loaded(path, text, None, ManifestError(path, dotted, message))
    import tomllib  # imported on demand: warm runs read root manifests from the cache

    try:
        return Loaded(path, text, tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        line = toml_error_line(message, text)
        return Loaded(path, text, None, ManifestError(path, line, f"invalid TOML: {message}"))
    except RecursionError:
        return Loaded(path, text, None, ManifestError(path, 0, "invalid TOML: nested too deeply"))


def load_toml_cached(tree: Source, path: str) -> Loaded:
    """``load_toml`` for the root manifests read on every run, cached by content hash.

    A warm ``lanes detect`` then needs neither tomllib nor a parse to find the workspace members.
    Documents that JSON cannot represent exactly (TOML dates) are simply not cached.
    """
    from lanes import cache

    text, error = read_text(tree, path)
    if text is None:
        return Loaded(path, "", None, error)
    key = cache.content_key("toml", text)
    data = cache.load_document(key)
    if isinstance(data, dict):
        return Loaded(path, text, data)
    loaded = load_toml(tree, path)
    if loaded.data is not None:
        cache.store_document(key, loaded.data)
    return loaded


def load_json(tree: Source, path: str) -> Loaded:
    text, error = read_text(tree, path)
    if text is None:
        return Loaded(path, "", None, error)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return Loaded(path, text, None, ManifestError(path, exc.lineno, f"invalid JSON: {exc.msg}"))
    except RecursionError:
        return Loaded(path, text, None, ManifestError(path, 0, "invalid JSON: nested too deeply"))
    if not isinstance(data, dict):
        return Loaded(path, text, None, ManifestError(path, 1, "expected a JSON object"))
    return Loaded(path, text, data)


def table(doc: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    """``doc[key]`` when it is a table, ``{}`` when absent, ``None`` when of another type."""
    value = doc.get(key, {})
    return value if isinstance(value, dict) else None


def str_list(value: object) -> list[str] | None:
    """``value`` as a list of strings, or ``None`` if it is not one."""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    return None


class Collector:
    """Accumulates one ecosystem's components, edges and errors into a :class:`Discovery`."""

    def __init__(self, manifests: list[str]) -> None:
        self.result = Discovery(manifests=list(manifests))
        self._names: dict[str, str] = {}
        self._edges: dict[tuple[str, str, EdgeKind], bool] = {}

    def error(self, path: str, line: int, message: str) -> None:
        self.result.errors.append(ManifestError(path, line, message))

    def root_toml(self, tree: Tree, path: str) -> tuple[Loaded, dict[str, Any]] | None:
        """The root manifest and its document when it parses, else None with its error
        recorded. Read through the content-hash cache: ``locate`` has just parsed the file."""
        root = load_toml_cached(tree, path)
        if root.data is None:
            if root.error is not None:
                self.result.errors.append(root.error)
            return None
        return root, root.data

    def error_at_key(
        self, loaded: Loaded, key: str, message: str, *, parent: str | None = None
    ) -> None:
        """An error on the line of ``key``, else of ``parent`` (a missing key's table)."""
        line = line_of_key(loaded.text, key)
        if not line and parent is not None:
            line = line_of_key(loaded.text, parent)
        self.error(loaded.path, line, message)

    def component(self, component: Component, loaded: Loaded) -> bool:
        """Add ``component`` unless its name is already taken (an error then)."""
        first = self._names.get(component.name)
        if first is not None:
            message = f"duplicate component name {component.name!r} (also declared in {first})"
            self.error_at_key(loaded, "name", message)
            return False
        self._names[component.name] = loaded.path
        self.result.components.append(component)
        return True

    def edge(self, source: str, target: str, kind: EdgeKind, optional: bool) -> None:
        if source == target:
            return
        key = (source, target, kind)
        self._edges[key] = self._edges.get(key, True) and optional

    def finish(self) -> Discovery:
        self.result.edges = [
            Edge(source, target, kind, optional)
            for (source, target, kind), optional in sorted(self._edges.items())
        ]
        self.result.errors.sort(key=lambda e: (e.path, e.line, e.message))
        return self.result
