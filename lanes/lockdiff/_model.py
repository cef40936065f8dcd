"""The data every lockfile reader produces, and the helpers they share (decoding, bounded YAML,
canonical text). Pure: bytes in, data out."""

from __future__ import annotations

import json
import posixpath
from typing import Any, NamedTuple

from lanes.discovery._common import join_dir
from lanes.discovery._jslock import MAX_LOCK_BYTES


class LockParseError(Exception):
    """A lockfile that does not parse, or a format version this module does not know. The
    message names the file, the line when known, and what is wrong."""

    def __init__(self, path: str, message: str, line: int = 0) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
        self.problem = message


class PackageChange(NamedTuple):
    """One package name whose resolution changed: ``old``/``new`` are the versions that went and
    came (several joined by ``", "``), each followed by ``(<source>)`` when the source changed
    and by ``(checksum, dependencies, ...)`` when that version stayed but its entry changed."""

    name: str
    old: str | None
    new: str | None

    def describe(self) -> str:
        """``serde 1.0.190 -> 1.0.192``, ``serde 1.0.192 added``, ``serde 1.0.190 removed``."""
        if self.old is None:
            return f"{self.name} {self.new} added"
        if self.new is None:
            return f"{self.name} {self.old} removed"
        return f"{self.name} {self.old} -> {self.new}"


class LocalPackage(NamedTuple):
    """A workspace member (a package of the repository itself) as the lockfile records it.
    ``directory`` is repository-relative POSIX (``""`` for the root), ``None`` when the format
    records no directory (Cargo.lock: match by name) or it lies outside the repository."""

    name: str
    directory: str | None


class LockDiff(NamedTuple):
    """``reached``: each member whose resolved closure (old or new lock) holds a changed package,
    with those changes (a member whose own entry changed lists a change naming itself).
    ``unattributed``: changes no member reaches or that are not package-level, each a short
    reason naming the lockfile; the caller must treat each as fail-safe. ``members``: every
    member either lock records, reached or not."""

    reached: dict[LocalPackage, tuple[PackageChange, ...]]
    unattributed: tuple[str, ...]
    members: frozenset[LocalPackage] = frozenset()


class Node(NamedTuple):
    """One resolved package of a lock graph. ``facts`` are named canonical texts (checksum,
    dependencies as specified, other metadata) compared between the two locks; ``deps`` are the
    identifiers of the nodes this one depends on (every kind of edge the lock records)."""

    name: str
    version: str
    source: str
    facts: tuple[tuple[str, str], ...]
    deps: tuple[str, ...]
    local: LocalPackage | None


class LockGraph(NamedTuple):
    """A parsed lockfile: its nodes by identifier, its settings (each top-level entry that is not
    a package, canonical), and dependency references that resolved to no node."""

    nodes: dict[str, Node]
    settings: dict[str, str]
    dangling: list[str]


def canonical(value: object) -> str:
    """A stable text for comparing parsed lockfile values."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def decode(path: str, data: bytes) -> str:
    if len(data) > MAX_LOCK_BYTES:
        raise LockParseError(path, f"lockfile larger than {MAX_LOCK_BYTES >> 20} MiB: not read")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise LockParseError(path, "not UTF-8", line) from None


def load_yaml(path: str, text: str) -> Any:
    """``text`` through PyYAML's safe loader (C implementation when present)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise LockParseError(path, f"invalid YAML: {exc}".splitlines()[0], line) from None
    except RecursionError:
        raise LockParseError(path, "invalid YAML: nested too deeply") from None


def load_toml(path: str, data: bytes) -> dict[str, Any]:
    import tomllib

    from lanes.discovery._common import toml_error_line

    text = decode(path, data)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = toml_error_line(str(exc), text)
        raise LockParseError(path, f"invalid TOML: {exc}", line) from None


def package_tables(path: str, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``[[package]]`` tables of a TOML lockfile (Cargo.lock, uv.lock)."""
    packages = doc.get("package", [])
    if not isinstance(packages, list) or not all(isinstance(p, dict) for p in packages):
        raise LockParseError(path, "[[package]] must be an array of tables")
    return packages


def expect_mapping(path: str, value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise LockParseError(path, f"{what} must be a mapping")
    return value


def lock_dir(path: str) -> str:
    """The lockfile's directory, repository-relative."""
    return posixpath.dirname(path.replace("\\", "/"))


def local_dir(path: str, relative: str) -> str | None:
    """A directory the lockfile names relative to itself, made repository-relative."""
    return join_dir(lock_dir(path), relative)


def node_facts(**facts: object) -> tuple[tuple[str, str], ...]:
    return tuple((name, canonical(value)) for name, value in facts.items())


def split_name(text: str) -> tuple[str, str]:
    """``@scope/name@rest`` or ``name@rest`` as ``(name, rest)``; ``rest`` is ``""`` if absent."""
    at = text.find("@", 1)
    return (text, "") if at < 0 else (text[:at], text[at + 1 :])
