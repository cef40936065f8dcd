"""Decoding git's bytes and parsing its ``-z`` output. Pure: no process, no file.

Paths are decoded from bytes as UTF-8 with ``surrogateescape`` (what ``os.fsdecode`` does on
POSIX), so spaces, quotes, newlines and non-UTF-8 bytes survive unchanged; the ``-z`` output is
parsed here, not by GitPython's ``Diff`` objects (which decode in a reader thread and turn one
non-UTF-8 path into an *empty* diff without an exception).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

COMMIT_MARKER = b"\x01"
"""Starts each commit header of the ``git log`` formats used here (``%x01``)."""

TWO_PATH_STATUSES = (b"R", b"C")


def decode_path(raw: bytes) -> str:
    """git's bytes as text; undecodable bytes survive round trips (``surrogateescape``)."""
    return raw.decode("utf-8", "surrogateescape")


def sorted_unique(paths: Iterable[str]) -> list[str]:
    return sorted(set(paths))


def parse_name_status(raw: bytes) -> tuple[list[str], bool]:
    """Paths of ``--name-status -z`` records (both paths of a rename or copy), and whether any
    record is an addition (only then can a copy detection pass find anything)."""
    tokens = raw.split(b"\0")
    paths: list[str] = []
    added = False
    index = 0
    while index < len(tokens):
        status = tokens[index].lstrip(b"\n")
        if not status:
            index += 1
            continue
        added = added or status.startswith(b"A")
        count = 2 if status.startswith(TWO_PATH_STATUSES) else 1
        paths.extend(decode_path(token) for token in tokens[index + 1 : index + 1 + count])
        index += 1 + count
    return paths, added


NO_MODE = "000000"
NO_OBJECT = "0" * 40


class RawEntry(NamedTuple):
    """One record of ``git diff --raw``: a path's mode and object on both sides (``000000`` and
    the null id where that side has no such path)."""

    old_mode: str
    new_mode: str
    old_oid: str
    new_oid: str
    status: str
    path: str


def _raw_entries(meta: bytes, tokens: Iterator[bytes]) -> list[RawEntry]:
    """The entries of one ``:old new oid oid status`` record (a rename or copy as its source
    and its destination, each one side only: a copy's source is unchanged)."""
    old_mode, new_mode, old_oid, new_oid, status = decode_path(meta[1:]).split()
    path = decode_path(next(tokens, b""))
    if not status.startswith(("R", "C")):
        return [RawEntry(old_mode, new_mode, old_oid, new_oid, status[:1], path)]
    target = decode_path(next(tokens, b""))
    added = RawEntry(NO_MODE, new_mode, NO_OBJECT, new_oid, "A", target)
    if status.startswith("C"):
        return [added]
    return [RawEntry(old_mode, NO_MODE, old_oid, NO_OBJECT, "D", path), added]


def parse_raw_log(tokens: Iterator[bytes]) -> Iterator[tuple[list[str], list[RawEntry]]]:
    """([sha, parents...], entries) per commit of ``git log -z --raw --no-abbrev
    --format=%x01%H %P``; the last commit comes only once the tokens ended, which
    :func:`lanes.git.runner.stream_git` allows only once git exited successfully."""
    ids: list[str] | None = None
    entries: list[RawEntry] = []
    for token in tokens:
        record = token.lstrip(b"\n")
        if record.startswith(COMMIT_MARKER):
            if ids is not None:
                yield ids, entries
            ids, entries = decode_path(record[1:]).split(), []
        elif record.startswith(b":"):
            entries.extend(_raw_entries(record, tokens))
    if ids is not None:
        yield ids, entries
