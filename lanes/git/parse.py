"""Decoding git's bytes and parsing its ``-z`` output. Pure: no process, no file.

Paths are decoded from bytes as UTF-8 with ``surrogateescape`` (what ``os.fsdecode`` does on
POSIX), so spaces, quotes, newlines and non-UTF-8 bytes survive unchanged; the ``-z`` output is
parsed here, not by GitPython's ``Diff`` objects (which decode in a reader thread and turn one
non-UTF-8 path into an *empty* diff without an exception).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

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


def parse_log(tokens: Iterator[bytes]) -> Iterator[tuple[list[str], list[str]]]:
    """([sha, parents...], paths) per commit of ``git log -z --name-status --format=%x01%H %P``.

    The last commit comes only once the tokens ended, which
    :func:`lanes.git.runner.stream_git` allows only once git exited successfully.
    """
    ids: list[str] | None = None
    paths: list[str] = []
    for token in tokens:
        status = token.lstrip(b"\n")
        if status.startswith(COMMIT_MARKER):
            if ids is not None:
                yield ids, paths
            ids, paths = decode_path(status[1:]).split(), []
        elif status:
            count = 2 if status.startswith(TWO_PATH_STATUSES) else 1
            paths.extend(decode_path(next(tokens, b"")) for _ in range(count))
    if ids is not None:
        yield ids, paths
